// Package layerdigest keeps the two digests of a gzip tarball that is a
// container image layer: the sha256 of the .tar.gz (the layer digest) and
// of the tar inside (the diffID, which takes a full decompression to
// compute). They are computed once, while the tarball is written
// (Hasher) or in one pass over it (Compute), and kept in a record beside
// it keyed by the file's size, modification time and inode, so an
// unchanged tarball is never read again to learn them (Of).
package layerdigest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/klauspost/compress/gzip"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/hashfile"
)

// Digests are a layer's digests, "sha256:<hex>", and its compressed size.
type Digests struct {
	Digest string `json:"digest"`  // sha256 of the .tar.gz
	DiffID string `json:"diff_id"` // sha256 of the uncompressed tar
	Size   int64  `json:"size"`    // bytes of the .tar.gz
}

// record is the content of the record file: the digests and the identity
// of the file they describe.
type record struct {
	Digests
	ModTime int64  `json:"mtime_ns"`
	Inode   uint64 `json:"inode"`
}

// Path is the record of the tarball at tarball: a hidden file beside it
// (hidden, so checksums and catalogs never list it).
func Path(tarball string) string {
	return filepath.Join(filepath.Dir(tarball), "."+filepath.Base(tarball)+".layer")
}

// identity is the part of a record that says which file it describes.
func identity(info fs.FileInfo) record {
	r := record{Digests: Digests{Size: info.Size()}, ModTime: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		r.Inode = st.Ino
	}
	return r
}

// Read returns the recorded digests of the tarball at path when its record
// still describes it: same size, modification time and inode. It reads the
// record and stats the tarball, nothing more.
func Read(path string) (Digests, bool) {
	info, err := os.Stat(path)
	if err != nil {
		return Digests{}, false
	}
	data, err := os.ReadFile(Path(path))
	if err != nil {
		return Digests{}, false
	}
	var r record
	id := identity(info)
	if json.Unmarshal(data, &r) != nil || r.Size != id.Size || r.ModTime != id.ModTime || r.Inode != id.Inode ||
		!isSHA256(r.Digest) || !isSHA256(r.DiffID) {
		return Digests{}, false
	}
	return r.Digests, true
}

func isSHA256(s string) bool {
	const prefix = "sha256:"
	if len(s) != len(prefix)+64 || s[:len(prefix)] != prefix {
		return false
	}
	_, err := hex.DecodeString(s[len(prefix):])
	return err == nil
}

// Save writes the record of d for the tarball at path, keyed by info: the
// tarball's own, or that of the file about to be renamed to path (a rename
// keeps size, modification time and inode).
func Save(path string, info fs.FileInfo, d Digests) error {
	r := identity(info)
	if r.Size != d.Size {
		return fmt.Errorf("recording the layer digests of %q: %d bytes hashed, the file has %d", path, d.Size, r.Size)
	}
	r.Digests = d
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("recording the layer digests of %q: %w", path, err)
	}
	return atomicfile.WriteFile(Path(path), append(data, '\n'), 0o644)
}

// Of returns the digests of the gzip tarball at path: recorded (Read), or
// computed in one pass (Compute) and recorded; a record that cannot be
// written only costs the next call the same pass.
func Of(ctx context.Context, path string) (Digests, error) {
	if d, ok := Read(path); ok {
		return d, nil
	}
	before, err := os.Stat(path)
	if err != nil {
		return Digests{}, fmt.Errorf("hashing the layer %q: %w", path, err)
	}
	d, err := Compute(ctx, path)
	if err != nil {
		return Digests{}, err
	}
	if after, err := os.Stat(path); err != nil || identity(after) != identity(before) {
		return Digests{}, fmt.Errorf("hashing the layer %q: the file changed while it was read", path)
	}
	Save(path, before, d)
	return d, nil
}

// ErrNotGzip is Compute's error for a file that is not gzip-compressed.
var ErrNotGzip = errors.New("want a gzip-compressed tar (.tar.gz), the file does not start with the gzip magic bytes")

// Compute reads the gzip tarball at path once, hashing the compressed
// bytes and, decompressed on the way, the tar they hold.
func Compute(ctx context.Context, path string) (Digests, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digests{}, fmt.Errorf("hashing the layer %q: %w", path, err)
	}
	defer f.Close()
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || magic != [2]byte{0x1f, 0x8b} {
		return Digests{}, fmt.Errorf("hashing the layer %q: %w", path, ErrNotGzip)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Digests{}, fmt.Errorf("hashing the layer %q: %w", path, err)
	}
	h := NewHasher()
	z, err := gzip.NewReader(bufio.NewReaderSize(io.TeeReader(f, h.Gzip()), 1<<20))
	if err == nil {
		_, err = h.tar.CopyFrom(ctx, z)
	}
	d := h.Sum()
	if err != nil {
		return Digests{}, fmt.Errorf("hashing the layer %q: decompressing: %w", path, err)
	}
	return d, nil
}

// Hasher computes a layer's digests while its tarball is written: the tar
// goes to Tar, the compressed bytes to Gzip. Hashing runs in goroutines of
// its own (internal/hashfile), beside the compression.
type Hasher struct {
	tarSum, gzSum hash.Hash
	tar, gz       *hashfile.Writer
	size          int64
}

// NewHasher starts a Hasher; Sum ends it.
func NewHasher() *Hasher {
	h := &Hasher{tarSum: sha256.New(), gzSum: sha256.New()}
	h.tar, h.gz = hashfile.NewWriter(h.tarSum), hashfile.NewWriter(h.gzSum)
	return h
}

// Tar takes the uncompressed tar.
func (h *Hasher) Tar() io.Writer { return h.tar }

// Gzip takes the compressed bytes, as written to the file.
func (h *Hasher) Gzip() io.Writer { return gzipSide{h} }

type gzipSide struct{ h *Hasher }

func (g gzipSide) Write(p []byte) (int, error) {
	g.h.size += int64(len(p))
	return g.h.gz.Write(p)
}

// Sum waits for the hashing to finish and returns the digests. The Hasher
// must not be used afterwards.
func (h *Hasher) Sum() Digests {
	h.tar.Close()
	h.gz.Close()
	return Digests{Digest: sha256String(h.gzSum), DiffID: sha256String(h.tarSum), Size: h.size}
}

func sha256String(h hash.Hash) string {
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
