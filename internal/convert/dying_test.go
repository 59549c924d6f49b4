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
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), cfg, selectOnly(t, "azure"), Options{Getenv: func(k string) string {
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
		t.Fatal("the conversion did not return within 2 minutes of guestfish dying")
	}
}
