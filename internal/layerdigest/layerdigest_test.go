package layerdigest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// tarGz is a small gzip tarball (one incompressible member, so it spans
// several reads) and the tar inside it.
func tarGz(t *testing.T) (gz, plain []byte) {
	t.Helper()
	noise := make([]byte, 3<<20)
	for i := range noise {
		noise[i] = byte(i*7919 + i>>3 ^ i>>13)
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: "var/noise", Mode: 0o644, Size: int64(len(noise)), ModTime: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	tw.Write(noise)
	tw.Close()
	var zb bytes.Buffer
	z := gzip.NewWriter(&zb)
	z.Write(tb.Bytes())
	z.Close()
	return zb.Bytes(), tb.Bytes()
}

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(s[:])
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rootfs.tar.gz")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestComputeHashesTheFileAndTheTarInside(t *testing.T) {
	gz, plain := tarGz(t)
	d, err := Compute(context.Background(), writeFile(t, gz))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Digests{Digest: sum(gz), DiffID: sum(plain), Size: int64(len(gz))}); d != want {
		t.Errorf("Compute = %+v, want %+v", d, want)
	}
}

func TestHasherFedWhileWritingAgreesWithCompute(t *testing.T) {
	gz, plain := tarGz(t)
	h := NewHasher()
	for _, p := range [][]byte{plain[:1000], plain[1000:]} {
		h.Tar().Write(p)
	}
	h.Gzip().Write(gz[:5])
	h.Gzip().Write(gz[5:])
	got := h.Sum()
	want, err := Compute(context.Background(), writeFile(t, gz))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Hasher = %+v, Compute = %+v", got, want)
	}
}

func TestComputeRefusesAFileThatIsNotGzip(t *testing.T) {
	_, err := Compute(context.Background(), writeFile(t, []byte("plain tar?")))
	if !errors.Is(err, ErrNotGzip) {
		t.Fatalf("error = %v, want ErrNotGzip", err)
	}
}

func TestOfRecordsTheDigestsAndReadTrustsTheRecordOnlyForTheSameFile(t *testing.T) {
	gz, _ := tarGz(t)
	path := writeFile(t, gz)
	if _, ok := Read(path); ok {
		t.Fatal("Read found a record before any was written")
	}
	d, err := Of(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := Read(path); !ok || got != d {
		t.Fatalf("Read after Of = %+v, %v; want %+v, true", got, ok, d)
	}
	st, _ := os.Stat(path)
	later := st.ModTime().Add(time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if _, ok := Read(path); ok {
		t.Error("Read trusted the record of a file with another modification time")
	}
	if err := os.WriteFile(Path(path), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := Read(path); ok {
		t.Error("Read trusted a damaged record")
	}
}

func TestSaveRefusesDigestsOfAnotherSize(t *testing.T) {
	path := writeFile(t, []byte("12345"))
	st, _ := os.Stat(path)
	if err := Save(path, st, Digests{Digest: sum(nil), DiffID: sum(nil), Size: 4}); err == nil {
		t.Fatal("Save took digests of 4 bytes for a file of 5")
	}
	if _, err := os.Stat(Path(path)); !os.IsNotExist(err) {
		t.Errorf("a record was written: %v", err)
	}
}

func TestTheRecordIsAHiddenFileBesideTheTarball(t *testing.T) {
	if got, want := Path("artifacts/1.0.0/X/docker/X-1.0.0_docker.tar.gz"), "artifacts/1.0.0/X/docker/.X-1.0.0_docker.tar.gz.layer"; got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
}
