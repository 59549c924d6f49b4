package iso

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/progress"
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

// hashFile returns the sha256 of path, showing progress under label.
func hashFile(ctx context.Context, path string, opts Options, label string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing %q: %w", path, err)
	}
	defer f.Close()
	var size int64
	if info, err := f.Stat(); err == nil {
		size = info.Size()
	}
	m := progress.New(opts.Out, "iso: "+label, size, 0)
	defer m.Done()
	h := sha256.New()
	if err := hashInto(ctx, h, f, 0, m); err != nil {
		return "", fmt.Errorf("hashing %q: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashInto feeds the first n bytes of f (all of it when n is 0) to h,
// stopping when ctx is done.
func hashInto(ctx context.Context, h interface{ Write([]byte) (int, error) }, f *os.File, n int64, m *progress.Meter) error {
	buf := make([]byte, 1<<20)
	var done int64
	for n == 0 || done < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := buf
		if n > 0 && n-done < int64(len(b)) {
			b = b[:n-done]
		}
		k, err := f.Read(b)
		h.Write(b[:k])
		done += int64(k)
		if m != nil {
			m.Add(int64(k))
		}
		if err != nil {
			if errors.Is(err, io.EOF) && n == 0 {
				return nil
			}
			return fmt.Errorf("after %d bytes: %w", done, err)
		}
	}
	return nil
}
