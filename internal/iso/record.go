package iso

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gold-standard-images/internal/atomicfile"
)

// record is what the cache remembers of a verified ISO: if the file still
// has this size, mtime, inode and status change time, it still has this
// sha256 (a change in place can restore the size and mtime, never the
// status change time; a copy over it has another inode).
type record struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	MTimeNs int64  `json:"mtime_ns"`
	Inode   uint64 `json:"inode"`
	CTimeNs int64  `json:"ctime_ns"`
	SHA256  string `json:"sha256"`
	// Signed says the clear-signed checksum file was verified too (its
	// signature, and the ISO's line in it) when the ISO was.
	Signed bool `json:"signed_checksum_file,omitempty"`
}

// Verified is what the ISO cache says of cfg's ISO (the build record
// quotes it): ok is false when the cache has no record of it.
type Verified struct {
	Name   string // file name, e.g. CentOS-7-x86_64-Minimal-2009.iso
	SHA256 string // lower-case hex
	Signed bool   // the signed checksum file was verified as well
}

// CacheRecord reads the cache's record of the ISO file name isoFile in
// cacheDir (tree.ISOCache).
func CacheRecord(cacheDir, isoFile string) (v Verified, ok bool) {
	data, err := os.ReadFile(recordPath(cacheDir, isoFile))
	if err != nil {
		return Verified{}, false
	}
	var r record
	if json.Unmarshal(data, &r) != nil || r.SHA256 == "" {
		return Verified{}, false
	}
	return Verified{Name: isoFile, SHA256: r.SHA256, Signed: r.Signed}, true
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
	if err != nil || !info.Mode().IsRegular() {
		return false
	}
	inode, ctime := fileID(info)
	return info.Size() == r.Size && info.ModTime().UnixNano() == r.MTimeNs && inode == r.Inode && ctime == r.CTimeNs
}

// writeRecord records path as verified with sha256 sum, and whether its
// signed checksum file was verified too.
func writeRecord(rec, path, sum string, signed bool) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("recording verified ISO %q: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("recording verified ISO %q: %w", path, err)
	}
	inode, ctime := fileID(info)
	data, err := json.MarshalIndent(record{Path: abs, Size: info.Size(), MTimeNs: info.ModTime().UnixNano(), Inode: inode, CTimeNs: ctime, SHA256: sum, Signed: signed}, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(rec, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("recording verified ISO %q: %w", path, err)
	}
	return nil
}
