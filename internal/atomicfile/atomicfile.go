// Package atomicfile writes files so that they are either whole or absent:
// data goes to a temporary name beside the target and is renamed into place
// only when the writer commits.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// File is a file being written under a temporary name.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts writing path with mode perm. The temporary file lives in the
// same folder (so the rename is atomic) and is named .<base>.tmp-*.
func Create(path string, perm os.FileMode) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating folder for %q: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating %q: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("creating %q: %w", path, err)
	}
	return &File{File: tmp, path: path}, nil
}

// Path is the final path the file will have once committed.
func (f *File) Path() string { return f.path }

// Commit flushes the data to disk and renames the file into place.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("writing %q: already committed or aborted", f.path)
	}
	f.done = true
	if err := f.File.Sync(); err != nil {
		f.File.Close()
		os.Remove(f.File.Name())
		return fmt.Errorf("writing %q: %w", f.path, err)
	}
	if err := f.File.Close(); err != nil {
		os.Remove(f.File.Name())
		return fmt.Errorf("writing %q: %w", f.path, err)
	}
	if err := os.Rename(f.File.Name(), f.path); err != nil {
		os.Remove(f.File.Name())
		return fmt.Errorf("writing %q: %w", f.path, err)
	}
	return nil
}

// Abort removes the temporary file; the target is left as it was. It is safe
// to call after Commit (it then does nothing), so `defer f.Abort()` is the
// usual pattern.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.File.Name())
}

// WriteFile writes data to path atomically with mode perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return f.Commit()
}
