// Package cosigntest gives tests the real cosign, the pinned release of
// the tools module tools/cosign, built with `go build` into the user cache
// once: test processes that ask at the same time wait on a lock while the
// first builds it (about 15 minutes cold on 2 cores), then share it.
package cosigntest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/filelock"
)

// Version is the cosign release tools/cosign pins.
const Version = "v2.6.5"

// buildTimeout bounds the build: cosign's dependency graph is large.
const buildTimeout = 45 * time.Minute

// Path returns the cosign binary, building it first when the cache has
// none that reports Version. root is the repository root.
func Path(t testing.TB, root string) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("finding the user cache for cosign: %v", err)
	}
	dir := filepath.Join(cache, "gold-standard-images", "cosign-"+Version)
	bin := filepath.Join(dir, "cosign")
	if works(bin) {
		return bin
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	unlock, err := filelock.Lock(ctx, filepath.Join(dir, "build.lock"), "the cosign build", func() {
		t.Logf("waiting for another test process building cosign %s", Version)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if works(bin) {
		return bin
	}
	t.Logf("building cosign %s from tools/cosign into %s (once; about 15 minutes cold on 2 cores)", Version, bin)
	tmp := bin + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, "github.com/sigstore/cosign/v2/cmd/cosign")
	cmd.Dir = filepath.Join(root, "tools", "cosign")
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		t.Fatalf("building cosign %s: %v\n%s", Version, err, out.String())
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	if !works(bin) {
		t.Fatalf("the cosign built at %s does not report %s", bin, Version)
	}
	return bin
}

// works reports whether bin runs and reports Version.
func works(bin string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "version").CombinedOutput()
	return err == nil && strings.Contains(string(out), strings.TrimPrefix(Version, "v"))
}

// Run runs cosign with args and the environment env (COSIGN_PASSWORD and
// the like) added, offline: no transparency log, no TUF. It returns the
// combined output and the error.
func Run(t testing.TB, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	home := t.TempDir() // cosign keeps a TUF cache in $HOME/.sigstore
	cmd.Env = append(os.Environ(), append([]string{"HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf")}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
