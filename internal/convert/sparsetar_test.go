package convert

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// sparseFile makes a sparse file of size bytes with data written at each
// offset (4 KiB of varied bytes each).
func sparseFile(t testing.TB, path string, size int64, offsets ...int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for i, off := range offsets {
		chunk := bytes.Repeat([]byte("disk block "+strconv.Itoa(i)+" "), 400)[:4096]
		if off+int64(len(chunk)) > size {
			chunk = chunk[:size-off]
		}
		if _, err := f.WriteAt(chunk, off); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSparseTarIsWhatGNUTarWrites(t *testing.T) {
	const mib = 1 << 20
	many := []int64{}
	for i := int64(0); i < 30; i++ {
		many = append(many, i*3*mib) // 30 extents: header plus two extension blocks
	}
	cases := []struct {
		name    string
		size    int64
		offsets []int64
	}{
		{"EndsWithAHole", 10 * mib, []int64{mib, 5*mib + 100}},
		{"EndsWithData", 8 * mib, []int64{0, 8*mib - 4096}},
		{"AllHoles", 64 * mib, nil},
		{"ManyExtentsNeedExtensionBlocks", 100 * mib, many},
		{"BeyondEightGiBUsesBase256", 20 << 30, []int64{10 << 30, 20<<30 - 4096}},
	}
	mtime := time.Unix(1700000000, 0)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			raw := filepath.Join(dir, "disk.raw")
			sparseFile(t, raw, tc.size, tc.offsets...)
			cmd := exec.Command("tar", "--format=oldgnu", "-S", "-cf", "-", "--owner=root:0", "--group=root:0",
				"--mode=0644", "--mtime=@"+strconv.FormatInt(mtime.Unix(), 10), "disk.raw")
			cmd.Dir = dir
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("GNU tar: %v", err)
			}
			f, err := os.Open(raw)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var got bytes.Buffer
			err = writeSparseTar(context.Background(), &got, f, tarEntry{Name: "disk.raw", Mode: 0o644, Uname: "root", Gname: "root", ModTime: mtime})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("archive differs from GNU tar's: %d bytes vs %d; first difference at %d", got.Len(), len(want), firstDiff(got.Bytes(), want))
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestParallelGzipIsOneMemberAnyReaderTakes(t *testing.T) {
	for _, size := range []int{0, 1, gzipBlock - 1, gzipBlock, 3*gzipBlock + 12345} {
		in := make([]byte, size)
		for i := range in {
			in[i] = byte(i*7/13) ^ byte(i>>11)
		}
		var out bytes.Buffer
		z := newParallelGzip(&out, gzip.DefaultCompression)
		for p := in; len(p) > 0; {
			k := min(len(p), 99999)
			if _, err := z.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := gzip.NewReader(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		r.Multistream(false) // one member: a second one would be left unread
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, in) {
			t.Fatalf("size %d: round trip differs", size)
		}
		cmd := exec.Command("gzip", "-t")
		cmd.Stdin = bytes.NewReader(out.Bytes())
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("size %d: gzip -t: %v %s", size, err, msg)
		}
	}
}

// The Go reader of the format agrees with the map: member disk.raw, the
// sparse type, the real size and the data at its offsets.
func TestSparseTarReadsBackWithArchiveTar(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	sparseFile(t, raw, 16<<20, 1<<20, 9<<20)
	f, _ := os.Open(raw)
	defer f.Close()
	var buf bytes.Buffer
	if err := writeSparseTar(context.Background(), &buf, f, tarEntry{Name: "disk.raw", Mode: 0o644, ModTime: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	h, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "disk.raw" || h.Typeflag != tar.TypeGNUSparse || h.Size != 16<<20 || h.Format != tar.FormatGNU {
		t.Fatalf("header = %q type %c size %d format %v", h.Name, h.Typeflag, h.Size, h.Format)
	}
	got, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(raw)
	if !bytes.Equal(got, want) {
		t.Fatal("content read back differs from the file")
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Fatalf("second member: %v, want none", err)
	}
}
