package packer_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gold-standard-images/internal/packer"
)

// repoRoot is the repository root, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// fakePacker writes an executable script dir/name that prints
// "Packer v<version>" (or fails when version is empty).
func fakePacker(t *testing.T, dir, name, version string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := "#!/bin/sh\necho 'Packer v" + version + "'\n"
	if version == "" {
		body = "#!/bin/sh\necho 'segmentation fault' >&2\nexit 3\n"
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFindRejectsPACKERThatDoesNotExist(t *testing.T) {
	bogus := filepath.Join(t.TempDir(), "no-such-packer")
	_, _, err := packer.Find(context.Background(), repoRoot(t), env(map[string]string{"PACKER": bogus}), nil)
	if err == nil {
		t.Fatal("Find succeeded with PACKER naming a missing file")
	}
	for _, want := range []string{"PACKER=", bogus, "no such file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestFindRejectsPACKERThatDoesNotRun(t *testing.T) {
	broken := fakePacker(t, t.TempDir(), "packer", "")
	_, _, err := packer.Find(context.Background(), repoRoot(t), env(map[string]string{"PACKER": broken}), nil)
	if err == nil || !strings.Contains(err.Error(), "PACKER=") || !strings.Contains(err.Error(), "segmentation fault") {
		t.Fatalf("want an error naming PACKER and the program's output, got %v", err)
	}
}

func TestFindUsesPACKERAndReportsItsVersion(t *testing.T) {
	tests := []struct {
		version string
		warn    bool
	}{
		{"1.9.4", false},
		{"1.11.2", true}, // the user's explicit choice wins, with a warning
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			p := fakePacker(t, t.TempDir(), "my-packer", tt.version)
			var log bytes.Buffer
			path, v, err := packer.Find(context.Background(), repoRoot(t), env(map[string]string{"PACKER": p}), &log)
			if err != nil {
				t.Fatal(err)
			}
			if path != p || v != tt.version {
				t.Errorf("Find = %q, %q; want %q, %q", path, v, p, tt.version)
			}
			if got := strings.Contains(log.String(), "warning"); got != tt.warn {
				t.Errorf("warning logged = %v, want %v; log: %q", got, tt.warn, log.String())
			}
		})
	}
}

func TestFindLooksUpABarePACKERNameInPATH(t *testing.T) {
	dir := t.TempDir()
	p := fakePacker(t, dir, "packer-1.9", "1.9.1")
	path, _, err := packer.Find(context.Background(), repoRoot(t), env(map[string]string{"PACKER": "packer-1.9", "PATH": dir}), nil)
	if err != nil || path != p {
		t.Fatalf("Find = %q, %v; want %q", path, err, p)
	}
}

func TestFindUsesASupportedPackerOnPATH(t *testing.T) {
	bin := t.TempDir()
	p := fakePacker(t, bin, "packer", "1.9.2")
	cache := t.TempDir()
	path, v, err := packer.Find(context.Background(), repoRoot(t), env(map[string]string{"PATH": bin, "PACKER_CACHE": cache}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if path != p || v != "1.9.2" {
		t.Errorf("Find = %q, %q; want %q, 1.9.2", path, v, p)
	}
}

func TestFindFallsBackToTheCacheWhenPATHPackerIsUnsupported(t *testing.T) {
	for _, onPath := range []string{"1.11.2", "1.8.7", ""} {
		t.Run("path packer "+onPath, func(t *testing.T) {
			bin := t.TempDir()
			fakePacker(t, bin, "packer", onPath)
			cache := t.TempDir()
			cached := fakePacker(t, filepath.Dir(packer.CachedPath(cache)), "packer", packer.PinnedVersion)
			var log bytes.Buffer
			path, v, err := packer.Find(context.Background(), repoRoot(t), env(map[string]string{"PATH": bin, "PACKER_CACHE": cache}), &log)
			if err != nil {
				t.Fatal(err)
			}
			if path != cached || v != packer.PinnedVersion {
				t.Errorf("Find = %q, %q; want the cached %q, %s", path, v, cached, packer.PinnedVersion)
			}
			if !strings.Contains(log.String(), "using the pinned v"+packer.PinnedVersion) {
				t.Errorf("log does not say why PATH's packer was passed over: %q", log.String())
			}
		})
	}
}

func TestFindReportsAMissingGoCommandWhenItMustBuild(t *testing.T) {
	cache := t.TempDir()
	_, _, err := packer.Find(context.Background(), repoRoot(t), env(map[string]string{"PATH": t.TempDir(), "PACKER_CACHE": cache}), nil)
	if err == nil || !strings.Contains(err.Error(), "go command") {
		t.Fatalf("want an error about the go command, got %v", err)
	}
}

// TestFindRebuildsAStaleCachedPacker really builds Packer from the tools
// module (seconds with a warm Go build cache, about 5 minutes cold).
func TestFindRebuildsAStaleCachedPacker(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build Packer: %v", err)
	}
	cache := t.TempDir()
	stale := fakePacker(t, filepath.Dir(packer.CachedPath(cache)), "packer", "1.8.0")
	getenv := env(map[string]string{
		"PATH":         filepath.Dir(goCmd),
		"PACKER_CACHE": cache,
	})
	var log bytes.Buffer
	path, v, err := packer.Find(context.Background(), repoRoot(t), getenv, &log)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	if path != stale || v != packer.PinnedVersion {
		t.Errorf("Find = %q, %q; want %q, %s", path, v, stale, packer.PinnedVersion)
	}
	if got, err := packer.Version(context.Background(), path); err != nil || got != packer.PinnedVersion {
		t.Errorf("built binary reports %q, %v; want %s", got, err, packer.PinnedVersion)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("cache folder holds %d entries, want only the binary (no temporary files)", len(entries))
	}
	// A second call finds the cached binary without building.
	log.Reset()
	if _, _, err := packer.Find(context.Background(), repoRoot(t), getenv, &log); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "building") {
		t.Errorf("second Find rebuilt: %q", log.String())
	}
}

func TestVersionParsesPackerOutput(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "packer")
	script := "#!/bin/sh\nprintf 'Packer v1.9.4\\n\\nYour version of Packer is out of date! The latest version\\nis 1.11.2.\\n'\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	v, err := packer.Version(context.Background(), p)
	if err != nil || v != "1.9.4" {
		t.Fatalf("Version = %q, %v; want 1.9.4", v, err)
	}
	garbage := filepath.Join(dir, "other")
	if err := os.WriteFile(garbage, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := packer.Version(context.Background(), garbage); err == nil || !strings.Contains(err.Error(), `"hello"`) {
		t.Fatalf("want an error quoting the unexpected output, got %v", err)
	}
}
