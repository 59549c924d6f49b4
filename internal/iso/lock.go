package iso

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// errLocked is tryLock's answer when another process or fetch holds the lock.
var errLocked = errors.New("locked")

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
	path := lockPath(cacheDir, iso)
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating ISO cache %q: %w", cacheDir, err)
	}
	for waited := false; ; {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, fmt.Errorf("locking %q: %w", path, err)
		}
		err = tryLock(f)
		if err == nil && isFileAt(f, path) {
			sweep(cacheDir, iso, opts)
			return func() { os.Remove(path); f.Close() }, nil
		}
		f.Close()
		switch {
		case err == nil:
			continue // the holder removed the file as we locked it: lock the new one
		case !errors.Is(err, errLocked):
			return nil, fmt.Errorf("locking %q: %w", path, err)
		case !waited:
			opts.say("waiting for another fetch of %s (it holds %s)", iso, path)
			waited = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for another fetch of %s: %w", iso, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
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

// isFileAt reports whether the open file f is still the file at path.
func isFileAt(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}
