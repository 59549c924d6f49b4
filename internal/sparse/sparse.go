// Package sparse writes files sparse: blocks of zeros in the data are
// skipped (a hole takes no space), so a disk image or an ISO with empty
// regions takes the space of its data, as `cp --sparse=always` does.
package sparse

import (
	"bytes"
	"context"
	"io"
	"os"
	"syscall"
)

// block is the size of the runs of zeros left as holes.
const block = 64 << 10

// Write copies r (size bytes) into out, a new empty file, seeking over
// blocks of zeros, and sets its size to size at the end (so a file ending
// in zeros gets them as a hole). It stops when ctx ends.
func Write(ctx context.Context, out *os.File, r io.Reader, size int64) error {
	buf := make([]byte, 1<<20)
	zero := make([]byte, block)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(r, buf)
		for off := 0; off < n; off += block {
			chunk := buf[off:min(off+block, n)]
			if bytes.Equal(chunk, zero[:len(chunk)]) {
				if _, err := out.Seek(int64(len(chunk)), io.SeekCurrent); err != nil {
					return err
				}
			} else if _, err := out.Write(chunk); err != nil {
				return err
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return out.Truncate(size)
}

// Allocated is the space the file at path takes on disk (its size where
// that cannot be told; 0 when it cannot be read): a sparse file counts for
// its data only.
func Allocated(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}
