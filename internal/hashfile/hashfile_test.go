package hashfile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// randomData is n bytes that differ from one buffer to the next.
func randomData(n int) []byte {
	data := make([]byte, n)
	rand.NewChaCha8([32]byte{1}).Read(data)
	return data
}

func writeFile(t testing.TB, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sizes cross the buffer boundaries and use more buffers than are in flight.
var sizes = []int{0, 1, bufSize - 1, bufSize, bufSize + 1, (bufs+2)*bufSize + 17}

func TestFileGivesTheSHA256OfTheContent(t *testing.T) {
	for _, n := range sizes {
		data := randomData(n)
		path := writeFile(t, data)
		sum, err := File(context.Background(), path)
		if err != nil || sum != sha256Hex(data) {
			t.Errorf("%d bytes: File = %s, %v; want %s", n, sum, err, sha256Hex(data))
		}
	}
}

func TestWriterGivesTheSHA256OfEverythingWritten(t *testing.T) {
	for _, n := range sizes {
		data := randomData(n)
		for _, step := range []int{1 << 10, 256 << 10, bufSize + 3} {
			h := sha256.New()
			w := NewWriter(h)
			for rest := data; len(rest) > 0; {
				k := min(step, len(rest))
				w.Write(rest[:k])
				rest = rest[k:]
			}
			w.Close()
			if got := hex.EncodeToString(h.Sum(nil)); got != sha256Hex(data) {
				t.Errorf("%d bytes in writes of %d: got %s, want %s", n, step, got, sha256Hex(data))
			}
		}
	}
}

func TestCopyHashesOnlyWhatTheReaderGives(t *testing.T) {
	data := randomData(3*bufSize + 5)
	const prefix = bufSize + 7
	h := sha256.New()
	n, err := Copy(context.Background(), h, io.LimitReader(bytes.NewReader(data), prefix))
	if err != nil || n != prefix {
		t.Fatalf("Copy = %d, %v; want %d bytes", n, err, prefix)
	}
	// The hash goes on from there, as a resumed download does.
	w := NewWriter(h)
	w.Write(data[prefix:])
	w.Close()
	if got := hex.EncodeToString(h.Sum(nil)); got != sha256Hex(data) {
		t.Errorf("prefix then rest: got %s, want %s", got, sha256Hex(data))
	}
}

func TestFileStopsWhenCancelled(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 8<<20)
	path := writeFile(t, data)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := File(ctx, path); err == nil || !strings.Contains(err.Error(), "canceled") || !strings.Contains(err.Error(), path) {
		t.Errorf("error = %v, want a cancellation naming the file", err)
	}
	sum, err := File(context.Background(), path)
	if err != nil || sum != sha256Hex(data) {
		t.Errorf("File = %s, %v; want the digest of the content", sum, err)
	}
}

func TestFileOfAMissingFileNamesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.iso")
	if _, err := File(context.Background(), path); err == nil || !strings.Contains(err.Error(), `hashing "`+path+`"`) {
		t.Errorf("error = %v, want one saying it was hashing %q", err, path)
	}
}

func TestFileWithProgressEndsWithALineUnderItsLabel(t *testing.T) {
	data := randomData(bufSize + 1)
	path := writeFile(t, data)
	var out bytes.Buffer
	sum, err := FileWithProgress(context.Background(), path, &out, "iso: verifying file")
	if err != nil || sum != sha256Hex(data) {
		t.Fatalf("FileWithProgress = %s, %v; want %s", sum, err, sha256Hex(data))
	}
	if !strings.HasPrefix(out.String(), ">> iso: verifying file: 1.0 MB in ") {
		t.Errorf("progress output %q, want the final line under the label with the size", out.String())
	}
}
