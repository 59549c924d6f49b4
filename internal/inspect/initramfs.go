package inspect

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// InitramfsFiles lists the paths in an initramfs image as the kernel
// unpacks it: uncompressed cpio archives first (the early microcode that
// dracut and initramfs-tools put in front), then one compressed archive
// (gzip, xz, zstd or bzip2; dracut's and initramfs-tools' choices) holding
// one or more cpio archives. Read in Go, so the image's own lsinitrd or
// lsinitramfs (absent from a rootfs, different on EL and Debian) is not
// needed and the listing is the same for every family.
func InitramfsFiles(r io.Reader) ([]string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var names []string
	for {
		if err := skipZeros(br); err == io.EOF {
			return names, nil
		} else if err != nil {
			return names, err
		}
		head, err := br.Peek(6)
		if err != nil {
			return names, fmt.Errorf("reading the initramfs: %w", err)
		}
		if string(head) == "070701" || string(head) == "070702" {
			got, err := readCpio(br)
			names = append(names, got...)
			if err != nil {
				return names, err
			}
			continue
		}
		z, err := decompressor(br)
		if err != nil {
			return names, err
		}
		zr := bufio.NewReaderSize(z, 64<<10)
		for {
			if err := skipZeros(zr); err == io.EOF {
				return names, nil
			} else if err != nil {
				return names, fmt.Errorf("reading the compressed initramfs: %w", err)
			}
			got, err := readCpio(zr)
			names = append(names, got...)
			if err != nil {
				return names, err
			}
		}
	}
}

// skipZeros consumes the zero padding between archives.
func skipZeros(r *bufio.Reader) error {
	for {
		b, err := r.ReadByte()
		if err != nil {
			return err
		}
		if b != 0 {
			return r.UnreadByte()
		}
	}
}

// decompressor chooses the decompression by the stream's magic number.
func decompressor(r *bufio.Reader) (io.Reader, error) {
	head, _ := r.Peek(6)
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return gzip.NewReader(r)
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return xz.NewReader(r)
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case bytes.HasPrefix(head, []byte("BZh")):
		return bzip2.NewReader(r), nil
	}
	return nil, fmt.Errorf("reading the initramfs: neither cpio nor gzip, xz, zstd or bzip2 (starts with % x)", head)
}

// readCpio reads one newc cpio archive up to its trailer and returns its
// member names (without a leading "./" or "/").
func readCpio(r *bufio.Reader) ([]string, error) {
	var names []string
	var hdr [110]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return names, fmt.Errorf("reading a cpio header: %w", err)
		}
		magic := string(hdr[:6])
		if magic != "070701" && magic != "070702" {
			return names, fmt.Errorf("reading a cpio header: bad magic %q", magic)
		}
		field := func(i int) (int64, error) {
			return strconv.ParseInt(string(hdr[6+8*i:6+8*i+8]), 16, 64)
		}
		size, err1 := field(6)
		nameSize, err2 := field(11)
		if err := errors.Join(err1, err2); err != nil || nameSize < 1 || nameSize > 4096 {
			return names, fmt.Errorf("reading a cpio header: bad size fields")
		}
		name := make([]byte, nameSize)
		if _, err := io.ReadFull(r, name); err != nil {
			return names, fmt.Errorf("reading a cpio name: %w", err)
		}
		if _, err := r.Discard(pad4(110 + nameSize)); err != nil {
			return names, fmt.Errorf("reading a cpio name: %w", err)
		}
		n := strings.TrimRight(string(name), "\x00")
		if n == "TRAILER!!!" {
			return names, nil
		}
		if _, err := r.Discard(int(size) + pad4(size)); err != nil {
			return names, fmt.Errorf("reading cpio member %q: %w", n, err)
		}
		n = strings.TrimPrefix(path.Clean("/"+n), "/")
		if n != "" {
			names = append(names, n)
		}
	}
}

func pad4(n int64) int { return int((4 - n%4) % 4) }

// ModuleName is the kernel module a path names ("lib/modules/.../xen-blkfront.ko.xz"
// is xen_blkfront), or "" for a path that is no module.
func ModuleName(p string) string {
	base := path.Base(p)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		base = strings.TrimSuffix(base, ext)
	}
	if !strings.HasSuffix(base, ".ko") {
		return ""
	}
	return strings.ReplaceAll(strings.TrimSuffix(base, ".ko"), "-", "_")
}
