package checksum

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gold-standard-images/internal/tree"
)

// trustMargin is how much earlier than SHA256SUM's time a file must have
// last changed for its listed digest to be taken unread: status change
// times come from a coarse clock (a tick, or a whole second on some file
// systems), so a file changed just after hashing began can look older.
const trustMargin = time.Second

// Listed checks the artifact at path before it is published (every
// upload): it must be a regular file, not a link (which could lead
// outside artifacts/), listed in its folder's SHA256SUM with the digest it
// has. Where SHA256SUM was written after the file last changed (its status
// change time, as ReadFolder tells), the digest it lists is trusted without
// reading the file; otherwise the file is hashed again and compared. It
// returns the digest. A missing file is fs.ErrNotExist.
func Listed(ctx context.Context, path string) (string, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return "", err
	}
	if what := tree.NotRegular(info.Mode()); what != "" {
		return "", fmt.Errorf("%q is %s, not a regular file: refused (a link could lead outside artifacts/)", path, what)
	}
	dir, name := filepath.Dir(path), filepath.Base(path)
	sums := filepath.Join(dir, FileName)
	data, err := os.ReadFile(sums)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%q has no %s beside it to check it against: run mage artifacts:checksum", path, FileName)
	}
	if err != nil {
		return "", fmt.Errorf("checking %q: %w", path, err)
	}
	entries, err := Parse(sums, data)
	if err != nil {
		return "", fmt.Errorf("checking %q: %w", path, err)
	}
	listed := ""
	for _, e := range entries {
		if e.Name == name {
			listed = e.SHA256
		}
	}
	if listed == "" {
		return "", fmt.Errorf("%q is not listed in %s: run mage artifacts:checksum", path, sums)
	}
	if sumInfo, err := os.Stat(sums); err == nil && changeTime(info).Add(trustMargin).Before(sumInfo.ModTime()) {
		return listed, nil // checksummed after its last change
	}
	got, err := hashPaths(ctx, []string{path}, []int64{info.Size()})
	if err != nil {
		return "", fmt.Errorf("checking %q: %w", path, err)
	}
	if got[0] != listed {
		return "", fmt.Errorf("%q changed since it was checksummed: %s lists %s, the file has %s; restore it or rebuild it", path, FileName, listed, got[0])
	}
	return listed, nil
}
