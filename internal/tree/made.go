package tree

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gold-standard-images/internal/atomicfile"
)

// This file is the record convert keeps of each artifact it writes, so that
// later steps can tell the file convert wrote from one changed since
// (truncated, edited, copied over).

// Made is what an artifact was when convert wrote it.
type Made struct {
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	SHA256  string    `json:"sha256,omitempty"` // lower-case hex, when known without reading the file again
}

// MadeRecord is the record of the artifact at path: a hidden file beside
// it, .<name>.made (hidden: checksums, catalogs and the scan skip it).
func MadeRecord(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".made")
}

// WriteMade records that path was just written: its size and modification
// time now, and its SHA-256 when the writer knows it ("" when it does not:
// convert does not read a whole disk again only to record it).
func WriteMade(path, sha256 string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("recording %q: %w", path, err)
	}
	data, err := json.Marshal(Made{Size: info.Size(), ModTime: info.ModTime().UTC(), SHA256: sha256})
	if err != nil {
		return fmt.Errorf("recording %q: %w", path, err)
	}
	if err := atomicfile.WriteFile(MadeRecord(path), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("recording %q: %w", path, err)
	}
	return nil
}

// ReadMade returns the record of path; ok is false when there is none (or
// it cannot be read: a record that cannot be trusted counts as none).
func ReadMade(path string) (m Made, ok bool) {
	data, err := os.ReadFile(MadeRecord(path))
	if err != nil {
		return Made{}, false
	}
	if err := json.Unmarshal(data, &m); err != nil || m.ModTime.IsZero() {
		return Made{}, false
	}
	return m, true
}

// Unchanged reports whether the file at path is still as recorded, by its
// size and modification time (no hashing); a file without a record is not.
func (m Made) Unchanged(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Size() == m.Size && info.ModTime().Equal(m.ModTime)
}
