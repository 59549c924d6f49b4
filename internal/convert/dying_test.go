package convert

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/run/runtest"
	"gold-standard-images/internal/sshkeys"
)

func TestAGuestfishThatDiesEarlyEndsTheDebugBoxWithItsError(t *testing.T) {
	need(t, "qemu-img")
	cfg := testConfig(t)
	_, err := sshkeys.Ensure(filepath.Join(cfg.Root, "keys"), "vagrant")
	must(t, err)
	sh(t, "", "qemu-img", "create", "-q", "-f", "qcow2", packerOutput(t, cfg, "azure", "qcow2"), "16M")
	runtest.DyingTool(t, "guestfish", 0)
	err = runtest.Within(t, 2*time.Minute, func() error {
		_, err := Run(context.Background(), cfg, selectOnly(t, "azure"), Options{Getenv: runtest.TCG, DebugBoxes: true})
		return err
	})
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), runtest.Dying) {
		t.Errorf("err = %v, want guestfish's exit and its last words", err)
	}
}
