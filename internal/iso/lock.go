package iso

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"gold-standard-images/internal/filelock"
)

// lockPath is the lock of ISO file name iso in the cache: <cache>/<iso>.lock.
func lockPath(cacheDir, iso string) string {
	return filepath.Join(cacheDir, iso+".lock")
}

// lockISO takes the cache's lock of one ISO, so that two fetches of the
// same ISO into one cache (a build and an iso:fetch, two builds) never
// write one .part at once: the second waits, says so once, and then finds
// the verified file the first left. It gives up when ctx ends. unlock
// releases the lock and removes the lock file. Holding the lock, it removes
// what a run killed before its clean-up left of this ISO (sweep).
func lockISO(ctx context.Context, cacheDir, iso string, opts Options) (unlock func(), err error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating ISO cache %q: %w", cacheDir, err)
	}
	path := lockPath(cacheDir, iso)
	unlock, err = filelock.Lock(ctx, path, "another fetch of "+iso, func() {
		opts.say("waiting for another fetch of %s (it holds %s)", iso, path)
	})
	if err != nil {
		return nil, err
	}
	sweep(cacheDir, iso, opts)
	return unlock, nil
}

// sweep removes the temporary files of iso in cacheDir (atomicfile's
// .<iso>.tmp-*, of the ISO and of its record) that a run killed before its
// clean-up left (kill -9, a power cut): under the ISO's lock none is being
// written. A download's .part is kept, to be resumed.
func sweep(cacheDir, iso string, opts Options) {
	for _, name := range []string{iso, iso + ".verified"} {
		left, _ := filepath.Glob(filepath.Join(cacheDir, "."+name+".tmp-*"))
		for _, p := range left {
			if err := os.Remove(p); err != nil {
				opts.say("removing %s, left by an interrupted run: %v", p, err)
				continue
			}
			opts.say("removed %s, left by an interrupted run", p)
		}
	}
}
