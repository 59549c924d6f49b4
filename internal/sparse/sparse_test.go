package sparse

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestZerosBecomeHolesAndTheDataIsKept(t *testing.T) {
	data := make([]byte, 8<<20+100)
	copy(data[100:], "boot sector")
	copy(data[5<<20:], "data far in")
	path := filepath.Join(t.TempDir(), "disk")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), out, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	out.Close()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the copy differs (%d bytes, %v)", len(got), err)
	}
	if a := Allocated(path); a >= int64(len(data))/2 {
		t.Errorf("the copy takes %d bytes on disk for 2 blocks of data: not sparse", a)
	}
}
