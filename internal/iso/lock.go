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
// releases the lock and removes the lock file.
func lockISO(ctx context.Context, cacheDir, iso string, opts Options) (unlock func(), err error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating ISO cache %q: %w", cacheDir, err)
	}
	path := lockPath(cacheDir, iso)
	return filelock.Lock(ctx, path, "another fetch of "+iso, func() {
		opts.say("waiting for another fetch of %s (it holds %s)", iso, path)
	})
}
