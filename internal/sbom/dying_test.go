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
	err := runtest.Within(t, 2*time.Minute, func() error {
		_, err := Read(context.Background(), disk, Options{Getenv: runtest.TCG})
		return err
	})
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), runtest.Dying) {
		t.Errorf("err = %v, want guestfish's exit and its last words", err)
	}
}
