// Package uploadtest holds what the tests of the upload packages
// (awsimport, azureimage, dockerpush, gcpimage) share: a configuration
// rooted in a temporary folder and the artifact file an upload reads, and
// the stalled server every HTTP client's bound is tested against.
package uploadtest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gold-standard-images/internal/config"
)

// VMName is the OS definition of the configurations Config makes.
const VMName = "CentOS-7.9.2009"

// Config is a configuration of VMName with the default site settings,
// rooted in a temporary folder.
func Config(t testing.TB) *config.Config {
	t.Helper()
	return &config.Config{Root: t.TempDir(), Site: config.Defaults(), OS: config.OS{VMName: VMName}}
}

// WriteArtifact writes data to rel (an upload's Source) below cfg.Root,
// making its folders, and returns its path.
func WriteArtifact(t testing.TB, cfg *config.Config, rel string, data []byte) string {
	t.Helper()
	path := filepath.Join(cfg.Root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// StalledServer is an HTTP server that takes every request and answers
// none until the test ends: a connection that stalls.
func StalledServer(t testing.TB) *httptest.Server {
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for the handlers
	return s
}

// GivesUp fails t unless call, talking to a StalledServer, ends within
// 30 seconds with an error that is context.DeadlineExceeded.
func GivesUp(t testing.TB, call func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want it to give up on the stalled server (deadline exceeded)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still waits for a server that never answers")
	}
}
