// Package filelock keeps two runs (processes, or goroutines of one) from
// doing one job at once: an exclusive flock on a lock file, waited for
// with one line saying who is waited for, given up when the context ends,
// and gone again once released. A run killed while it holds the lock
// releases it (the kernel drops the flock); its lock file is reused.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// errLocked is tryLock's answer when another holder has the lock.
var errLocked = errors.New("locked")

// Lock takes the lock at path, creating its folder and the file. When
// another holder has it, waiting is called once (to say so) and Lock tries
// again every 200 ms until ctx ends. unlock releases the lock and removes
// the file.
func Lock(ctx context.Context, path string, waiting func()) (unlock func(), err error) {
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
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
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
