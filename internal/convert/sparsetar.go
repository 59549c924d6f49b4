package convert

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// Linux lseek whence values for sparse files.
const (
	seekData = 3
	seekHole = 4
)

const (
	tarBlock  = 512
	tarRecord = 20 * tarBlock // GNU tar's default record: archives are padded to it
)

// extent is a run of data in a sparse file.
type extent struct{ off, n int64 }

// dataExtents lists the data of f with SEEK_DATA/SEEK_HOLE, as GNU tar -S
// does, so holes are neither read nor stored.
func dataExtents(f *os.File, size int64) ([]extent, error) {
	var out []extent
	for off := int64(0); off < size; {
		data, err := f.Seek(off, seekData)
		if err != nil {
			break // ENXIO: no data after off
		}
		hole, err := f.Seek(data, seekHole)
		if err != nil {
			return nil, fmt.Errorf("finding the holes of %q: %w", f.Name(), err)
		}
		out = append(out, extent{data, hole - data})
		off = hole
	}
	return out, nil
}

// tarEntry is the metadata of the single member of a sparse tar.
type tarEntry struct {
	Name         string
	Mode         int64
	UID, GID     int
	Uname, Gname string
	ModTime      time.Time
}

// writeSparseTar writes an archive holding one member, e (the content of
// f), in GNU tar's oldgnu sparse format, the format GCP image import reads.
// Go's archive/tar reads this format but cannot write it. The archive is
// byte for byte what `tar --format=oldgnu -S -c` writes for the same file
// and metadata.
func writeSparseTar(ctx context.Context, w io.Writer, f *os.File, e tarEntry) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading %q: %w", f.Name(), err)
	}
	size := st.Size()
	exts, err := dataExtents(f, size)
	if err != nil {
		return err
	}
	var stored int64
	for _, x := range exts {
		stored += x.n
	}
	// GNU tar always ends the map with an empty extent at the end of file.
	sparse := append(exts, extent{size, 0})

	var hdr [tarBlock]byte
	copy(hdr[0:100], e.Name)
	putOctal(hdr[100:108], e.Mode&0o7777)
	putOctal(hdr[108:116], int64(e.UID))
	putOctal(hdr[116:124], int64(e.GID))
	putNumeric(hdr[124:136], stored)
	putNumeric(hdr[136:148], e.ModTime.Unix())
	hdr[156] = 'S'
	copy(hdr[257:265], "ustar  \x00")
	copy(hdr[265:297], e.Uname)
	copy(hdr[297:329], e.Gname)
	first := min(len(sparse), 4)
	for i, x := range sparse[:first] {
		putNumeric(hdr[386+24*i:398+24*i], x.off)
		putNumeric(hdr[398+24*i:410+24*i], x.n)
	}
	if len(sparse) > 4 {
		hdr[482] = 1
	}
	putNumeric(hdr[483:495], size)
	checksum(&hdr)
	var head bytes.Buffer
	head.Write(hdr[:])
	for rest := sparse[first:]; len(rest) > 0; {
		var ext [tarBlock]byte
		k := min(len(rest), 21)
		for i, x := range rest[:k] {
			putNumeric(ext[24*i:24*i+12], x.off)
			putNumeric(ext[24*i+12:24*i+24], x.n)
		}
		rest = rest[k:]
		if len(rest) > 0 {
			ext[504] = 1
		}
		head.Write(ext[:])
	}
	written := int64(head.Len())
	if _, err := w.Write(head.Bytes()); err != nil {
		return err
	}

	buf := make([]byte, 1<<20)
	for _, x := range exts {
		r := io.NewSectionReader(f, x.off, x.n)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, rerr := io.ReadFull(r, buf)
			if n > 0 {
				if _, err := w.Write(buf[:n]); err != nil {
					return err
				}
				written += int64(n)
			}
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				break
			}
			if rerr != nil {
				return fmt.Errorf("reading %q: %w", f.Name(), rerr)
			}
		}
	}
	// Pad the data to a block, add the two end blocks, pad to a record.
	end := written + (tarBlock-written%tarBlock)%tarBlock + 2*tarBlock
	end += (tarRecord - end%tarRecord) % tarRecord
	_, err = w.Write(make([]byte, end-written))
	return err
}

// putOctal writes n as zero-padded octal with a trailing NUL.
func putOctal(b []byte, n int64) {
	s := strconv.FormatInt(n, 8)
	for len(s) < len(b)-1 {
		s = "0" + s
	}
	copy(b, s)
	b[len(b)-1] = 0
}

// putNumeric writes n in octal when it fits, else in GNU base-256 (top bit
// of the first byte set, big-endian), as GNU tar does for sizes and
// offsets from 8 GiB up.
func putNumeric(b []byte, n int64) {
	if n < 1<<(3*(len(b)-1)) {
		putOctal(b, n)
		return
	}
	for i := len(b) - 1; i > 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	b[0] = 0x80
}

// checksum fills the header checksum field: the sum of the header bytes
// with the field taken as spaces, "%06o\0 ".
func checksum(h *[tarBlock]byte) {
	copy(h[148:156], "        ")
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	s := fmt.Sprintf("%06o", sum)
	copy(h[148:], s)
	h[154] = 0
	h[155] = ' '
}
