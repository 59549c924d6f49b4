package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gold-standard-images/internal/run"
	"gold-standard-images/test/guest"
)

// startRegistry runs Debian's docker-registry on a free port of the
// loopback with its storage in a temporary folder, waits until it answers,
// and returns its host:port. It is stopped when the test ends.
func startRegistry(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", guest.FreePort(t))
	config := fmt.Sprintf("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	configPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "registry.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run.Run(ctx, run.Cmd{Name: "docker-registry", Args: []string{"serve", configPath}, Output: log, Grace: 5 * time.Second, Timeout: time.Hour, Log: logPath})
	}()
	t.Cleanup(func() { cancel(); <-done; log.Close() })

	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		if resp, err := client.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("docker-registry did not answer on %s within 30s; log:\n%s", addr, guest.Tail(logPath, 20))
	return ""
}
