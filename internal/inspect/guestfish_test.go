package inspect

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/run/runtest"
)

// hangBound tells a hang from a slow machine: far above a guestfish that
// finds nothing (about 75 s under TCG on a loaded machine).
const hangBound = 5 * time.Minute

// inspectBlankDisk runs Inspect on a blank raw disk (no partitions, no OS)
// and returns its error, failing the test if Inspect hangs.
func inspectBlankDisk(t *testing.T) error {
	t.Helper()
	disk := filepath.Join(t.TempDir(), "blank.raw")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, 64<<20); err != nil {
		t.Fatal(err)
	}
	return runtest.Within(t, hangBound, func() error {
		_, err := Inspect(context.Background(), "openstack", Source{Path: disk, Format: "raw"}, "", Options{Getenv: runtest.TCG, Rules: Table})
		return err
	})
}

func TestAGuestfishThatDiesEarlyEndsTheInspectionWithItsError(t *testing.T) {
	runtest.DyingTool(t, "guestfish", 1)
	err := inspectBlankDisk(t)
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), runtest.Dying) || !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("err = %v, want guestfish's exit status and its last words", err)
	}
}

func TestARealGuestfishOnADiskWithoutAnOSEndsTheInspectionWithItsError(t *testing.T) {
	if _, err := exec.LookPath("guestfish"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("this test needs guestfish (apt-get install libguestfs-tools): %v", err)
		}
		t.Skipf("guestfish missing: %v", err)
	}
	err := inspectBlankDisk(t)
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), "no operating system") {
		t.Errorf("err = %v, want guestfish's own message (no operating system was found)", err)
	}
}
