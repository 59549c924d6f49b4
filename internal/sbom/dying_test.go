package sbom

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/run/runtest"
)

func TestAGuestfishThatDiesEarlyEndsTheSBOMReadWithItsError(t *testing.T) {
	runtest.DyingTool(t, "guestfish", 1)
	disk := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Read(context.Background(), disk, Options{Getenv: func(k string) string {
			if k == "QEMU_ACCELERATOR" {
				return "tcg"
			}
			return ""
		}})
		done <- err
	}()
	select {
	case err := <-done:
		t.Logf("error: %v", err)
		if err == nil || !strings.Contains(err.Error(), "stand-in dying early") {
			t.Errorf("err = %v, want guestfish's exit and its last words", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Read did not return within 2 minutes of guestfish dying")
	}
}
