// Package filelock is an exclusive lock between processes (and between
// goroutines of one) held on a lock file: a cache entry, an ISO or a build
// folder is made by one holder while the others wait, say so once, and then
// find what the holder left.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// errLocked is tryLock's answer when another process or holder has the lock.
var errLocked = errors.New("locked")

// poll is how often a waiting Lock tries again.
const poll = 200 * time.Millisecond

// Lock takes the exclusive lock of path (a file it creates, with its
// folder), waiting while another process or goroutine holds it. Before its
// first wait it calls waiting once (nil: say nothing). It gives up when ctx
// ends, with what: the action being waited for, as the error says it.
// unlock releases the lock and removes the lock file; a holder that dies
// releases it too (flock), and the file it leaves is locked again.
func Lock(ctx context.Context, path, what string, waiting func()) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("locking %q: %w", path, err)
	}
	for waited := false; ; {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, fmt.Errorf("locking %q: %w", path, err)
		}
		err = tryLock(f)
		if err == nil && isFileAt(f, path) {
			return func() { os.Remove(path); f.Close() }, nil
		}
		f.Close()
		switch {
		case err == nil:
			continue // the holder removed the file as we locked it: lock the new one
		case !errors.Is(err, errLocked):
			return nil, fmt.Errorf("locking %q: %w", path, err)
		case !waited && waiting != nil:
			waiting()
		}
		waited = true
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s (%s is held): %w", what, path, ctx.Err())
		case <-time.After(poll):
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
