package iso

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gold-standard-images/internal/atomicfile"
)

// record is what the cache remembers of a verified ISO: if the file still
// has this size and mtime, it still has this sha256.
type record struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	MTimeNs int64  `json:"mtime_ns"`
	SHA256  string `json:"sha256"`
}

// recordPath is the record of ISO file name iso: <cache>/<iso>.verified.
func recordPath(cacheDir, iso string) string {
	return filepath.Join(cacheDir, iso+".verified")
}

// recorded reports whether the record at rec says path is verified with
// sha256 want and the file's size and mtime are unchanged since.
func recorded(rec, path, want string) bool {
	data, err := os.ReadFile(rec)
	if err != nil {
		return false
	}
	var r record
	if json.Unmarshal(data, &r) != nil {
		return false
	}
	abs, err := filepath.Abs(path)
	if err != nil || r.Path != abs || r.SHA256 != want {
		return false
	}
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Size() == r.Size && info.ModTime().UnixNano() == r.MTimeNs
}

// writeRecord records path as verified with sha256 sum.
func writeRecord(rec, path, sum string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("recording verified ISO %q: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("recording verified ISO %q: %w", path, err)
	}
	data, err := json.MarshalIndent(record{Path: abs, Size: info.Size(), MTimeNs: info.ModTime().UnixNano(), SHA256: sum}, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(rec, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("recording verified ISO %q: %w", path, err)
	}
	return nil
}
