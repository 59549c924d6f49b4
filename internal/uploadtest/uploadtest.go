// Package uploadtest holds what the tests of the upload packages
// (awsimport, azureimage, dockerpush, gcpimage, glanceimage, release,
// vsphereimport) share: a configuration rooted in a temporary folder and
// the artifact file an upload reads (with its folder's SHA256SUM, as a
// build leaves it), the artifacts every upload must refuse, the stalled
// server every HTTP client's bound is tested against, and the real
// docker-registry.
package uploadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/tree"
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
// making its folders, writes the folder's SHA256SUM, and returns its path.
func WriteArtifact(t testing.TB, cfg *config.Config, rel string, data []byte) string {
	t.Helper()
	path := filepath.Join(cfg.Root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	Checksum(t, path)
	return path
}

// Checksum writes the SHA256SUM of the folder of the artifact at path, as
// artifacts:checksum does after a build (an older one is replaced).
func Checksum(t testing.TB, path string) {
	t.Helper()
	sums := filepath.Join(filepath.Dir(path), checksum.FileName)
	if err := os.Remove(sums); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if _, err := checksum.WriteArtifacts(context.Background(), []tree.Artifact{{Path: path}}, nil); err != nil {
		t.Fatal(err)
	}
}

// Replace moves the file from over the artifact at path and writes the
// folder's SHA256SUM: a changed artifact, checksummed as a build leaves it.
func Replace(t testing.TB, from, path string) {
	t.Helper()
	if err := os.Rename(from, path); err != nil {
		t.Fatal(err)
	}
	Checksum(t, path)
}

// RefusesUnverified runs publish on cfg's artifact rel (made with
// WriteArtifact) three ways, and fails t unless each is refused, naming
// the file, before anything is sent (the test's settings name a server
// that is not there, whose connection error would show): the artifact
// replaced by a link to a file outside the tree (upload:openstack sent a
// link's target), changed since its SHA256SUM was written, and without a
// SHA256SUM at all. The artifact is as before afterwards.
func RefusesUnverified(t *testing.T, cfg *config.Config, rel string, publish func() error) {
	t.Helper()
	path := filepath.Join(cfg.Root, rel)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("29 bytes of an outside file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sums := filepath.Join(filepath.Dir(path), checksum.FileName)
	for _, tc := range []struct {
		name  string
		spoil func() error
		want  string
	}{
		{"a link to a file outside the tree", func() error {
			if err := os.Remove(path); err != nil {
				return err
			}
			return os.Symlink(outside, path)
		}, "not a regular file"},
		{"changed since its SHA256SUM was written", func() error {
			return os.WriteFile(path, append([]byte("changed "), data...), 0o644)
		}, checksum.FileName},
		{"without a SHA256SUM", func() error { return os.Remove(sums) }, checksum.FileName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				os.Remove(path) // a link: WriteFile would write to its target
				WriteArtifact(t, cfg, rel, data)
			}()
			if err := tc.spoil(); err != nil {
				t.Fatal(err)
			}
			err := publish()
			t.Logf("error: %v", err)
			msg := strings.ReplaceAll(fmt.Sprint(err), cfg.Root, "<root>") // the test's own name is in the root
			if err == nil || !strings.Contains(msg, filepath.Base(path)) || !strings.Contains(msg, tc.want) {
				t.Errorf("want a refusal naming %q and %q", filepath.Base(path), tc.want)
			}
		})
	}
}

// Nowhere is the URL of a server that is not there: a request to it fails
// at once with a connection error.
const Nowhere = "http://127.0.0.1:1"

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

// DockerRegistry runs Debian's docker-registry on a free loopback port
// with its storage in a temporary folder and returns host:port.
func DockerRegistry(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatalf("docker-registry is needed for this test (apt-get install docker-registry): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yml")
	cfgText := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if i == 200 {
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
