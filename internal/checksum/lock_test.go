package checksum

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/tree"
)

// TestChecksumWaitsForAConversionOfTheSameBuild: while a conversion holds
// a build's lock, artifacts:checksum of that build waits, says so, and
// writes SHA256SUM only once the lock is released.
func TestChecksumWaitsForAConversionOfTheSameBuild(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	writeFiles(t, root, map[string]string{"1.0.0/vm/gcp/vm-1.0.0_gcp.tar.gz": "disk"})
	unlock, err := tree.LockBuild(context.Background(), filepath.Join(root, "1.0.0/vm"), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "said"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	said := func() string { data, _ := os.ReadFile(out.Name()); return string(data) }
	done := make(chan error, 1)
	go func() {
		_, err := WriteTree(context.Background(), root, out)
		done <- err
	}()
	sums := filepath.Join(root, "1.0.0/vm/gcp", FileName)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(said(), "waiting") && time.Now().Before(deadline) {
		if _, err := os.Stat(sums); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(sums); err == nil {
		t.Error("SHA256SUM was written while the build's lock was held")
	}
	if !strings.Contains(said(), "waiting for another run on") {
		t.Errorf("checksum said %q, want that it waits", said())
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sums); err != nil {
		t.Errorf("SHA256SUM not written once the lock was released: %v", err)
	}
}
