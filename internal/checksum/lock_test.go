package checksum

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gold-standard-images/internal/tree"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

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
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		_, err := WriteTree(context.Background(), root, &out)
		done <- err
	}()
	sums := filepath.Join(root, "1.0.0/vm/gcp", FileName)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "waiting") && time.Now().Before(deadline) {
		if _, err := os.Stat(sums); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(sums); err == nil {
		t.Error("SHA256SUM was written while the build's lock was held")
	}
	if !strings.Contains(out.String(), "waiting for another run on") {
		t.Errorf("checksum said %q, want that it waits", out.String())
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sums); err != nil {
		t.Errorf("SHA256SUM not written once the lock was released: %v", err)
	}
}
