package packer

// This file finds the Packer binary the builds run: $PACKER, else a
// supported `packer` on PATH, else the pinned release built from the Go
// module proxy (module tools/packer) into a cache. Nothing is downloaded
// from anywhere but the Go module proxy, and no `packer init` is needed:
// Packer 1.9 bundles every plugin the templates use.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/run"
)

// Pinned facts of the Packer release the templates target.
const (
	PinnedVersion   = "1.9.4"                       // version built when no usable Packer is found
	SupportedSeries = "1.9."                        // versions accepted from PATH start with this
	Module          = "github.com/hashicorp/packer" // package built from the tools module
	ToolsDir        = "tools/packer"                // tools module, relative to the repository root
	cacheName       = "gold-standard-images"        // folder below the user cache
)

// versionTimeout bounds `packer version`, so a broken binary cannot hang us.
const versionTimeout = time.Minute

var versionRE = regexp.MustCompile(`(?m)^Packer v(\d+\.\d+\.\d+\S*)`)

// Find returns the Packer binary to use and its version. In order:
//   - $PACKER (read through getenv): a path, or a name looked up in PATH; it
//     must exist and answer `packer version`, whatever the version (a
//     warning goes to log when it is not 1.9.x);
//   - `packer` on PATH, when its version is 1.9.x;
//   - <cache>/packer-v1.9.4/packer, built with `go build` in <root>/tools/packer
//     unless it already exists and reports 1.9.4. <cache> is $PACKER_CACHE,
//     else os.UserCacheDir()/gold-standard-images.
//
// root is the repository root. Progress lines (and the go command's output
// while building) go to log.
func Find(ctx context.Context, root string, getenv func(string) string, log io.Writer) (path string, version string, err error) {
	if log == nil {
		log = io.Discard
	}
	if path, version, err = Installed(ctx, getenv, log); err != nil || path != "" {
		return path, version, err
	}
	dir, err := CacheDir(getenv)
	if err != nil {
		return "", "", err
	}
	path, err = Ensure(ctx, root, dir, getenv, log)
	if err != nil {
		return "", "", err
	}
	return path, PinnedVersion, nil
}

// Installed is Find without building: the Packer binary $PACKER names, or
// a 1.9.x `packer` on PATH, and its version; an empty path means Find
// would use the pinned v1.9.4 (PinnedVersion). `mage plan` uses it to know
// the version a build's fingerprint will hold without building Packer.
func Installed(ctx context.Context, getenv func(string) string, log io.Writer) (path string, version string, err error) {
	if log == nil {
		log = io.Discard
	}
	if p := envvar.Packer.Get(getenv); p != "" {
		return fromEnv(ctx, p, getenv, log)
	}
	if p, err := lookPath("packer", envvar.Path.Get(getenv)); err == nil {
		v, err := Version(ctx, p)
		switch {
		case err != nil:
			fmt.Fprintf(log, "packer: %s does not run (%v); using the pinned v%s\n", p, err, PinnedVersion)
		case Supported(v):
			return p, v, nil
		default:
			fmt.Fprintf(log, "packer: %s is v%s, the templates need %sx; using the pinned v%s\n", p, v, SupportedSeries, PinnedVersion)
		}
	}
	return "", "", nil
}

func fromEnv(ctx context.Context, p string, getenv func(string) string, log io.Writer) (string, string, error) {
	path := p
	if !strings.ContainsRune(p, filepath.Separator) {
		found, err := lookPath(p, envvar.Path.Get(getenv))
		if err != nil {
			return "", "", fmt.Errorf("finding Packer: PACKER=%q: not found in PATH", p)
		}
		path = found
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("finding Packer: PACKER=%q: %w", p, err)
	}
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		return "", "", fmt.Errorf("finding Packer: PACKER=%q: not an executable file", p)
	}
	v, err := Version(ctx, path)
	if err != nil {
		return "", "", fmt.Errorf("finding Packer: PACKER=%q: %w", p, err)
	}
	if !Supported(v) {
		fmt.Fprintf(log, "packer: warning: PACKER=%q is v%s; the templates are tested with v%s\n", p, v, PinnedVersion)
	}
	return path, v, nil
}

// Supported reports whether version (e.g. "1.9.4") is one the templates
// work with.
func Supported(version string) bool { return strings.HasPrefix(version, SupportedSeries) }

// Version runs `<path> version` and returns the version it reports, e.g.
// "1.9.4".
func Version(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	out, err := run.Output(ctx, run.Cmd{Name: path, Args: []string{"version"}, Env: Env, Grace: time.Second})
	if err != nil {
		return "", fmt.Errorf("asking %q for its version: %w", path, err)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("asking %q for its version: want a line \"Packer v<x.y.z>\", got %q", path, firstLine(out))
	}
	return string(m[1]), nil
}

// CacheDir is the folder the pinned Packer is built into: $PACKER_CACHE, else
// os.UserCacheDir()/gold-standard-images.
func CacheDir(getenv func(string) string) (string, error) {
	if d := envvar.PackerCache.Get(getenv); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache folder for Packer (set PACKER_CACHE): %w", err)
	}
	return filepath.Join(d, cacheName), nil
}

// CachedPath is where Ensure keeps the pinned Packer below cacheDir.
func CachedPath(cacheDir string) string {
	return filepath.Join(cacheDir, "packer-v"+PinnedVersion, "packer")
}

// Ensure returns CachedPath(cacheDir), first building it from the tools
// module below root unless it exists and reports PinnedVersion. The binary
// is built under a temporary name and renamed into place once it has
// answered `version`, so an interrupted build leaves nothing behind. The go
// command is looked up in getenv("PATH").
func Ensure(ctx context.Context, root, cacheDir string, getenv func(string) string, log io.Writer) (string, error) {
	final := CachedPath(cacheDir)
	if _, err := os.Stat(final); err == nil {
		v, err := Version(ctx, final)
		if err == nil && v == PinnedVersion {
			return final, nil
		}
		fmt.Fprintf(log, "packer: cached %s is unusable (version %q, %v); rebuilding\n", final, v, err)
	}
	goCmd, err := lookPath("go", envvar.Path.Get(getenv))
	if err != nil {
		return "", fmt.Errorf("building Packer v%s: the go command is not in PATH: %w", PinnedVersion, err)
	}
	modDir := filepath.Join(root, ToolsDir)
	if _, err := os.Stat(filepath.Join(modDir, "go.mod")); err != nil {
		return "", fmt.Errorf("building Packer v%s: tools module: %w", PinnedVersion, err)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", fmt.Errorf("building Packer v%s: %w", PinnedVersion, err)
	}
	tmp := filepath.Join(filepath.Dir(final), fmt.Sprintf(".packer.tmp-%d", os.Getpid()))
	defer os.Remove(tmp) // no-op once renamed
	fmt.Fprintf(log, "packer: building v%s from the Go module proxy into %s (about 5 minutes on 2 cores, once)\n", PinnedVersion, final)
	err = run.Run(ctx, run.Cmd{
		Name:   goCmd,
		Args:   []string{"build", "-o", tmp, Module},
		Dir:    modDir,
		Env:    []string{"GOWORK=off", "GOFLAGS=-mod=readonly"},
		Output: log,
	})
	if err != nil {
		return "", fmt.Errorf("building Packer v%s in %q: %w", PinnedVersion, modDir, err)
	}
	v, err := Version(ctx, tmp)
	if err != nil {
		return "", fmt.Errorf("building Packer v%s: %w", PinnedVersion, err)
	}
	if v != PinnedVersion {
		return "", fmt.Errorf("building Packer v%s: %s requires v%s (edit its go.mod back)", PinnedVersion, filepath.Join(ToolsDir, "go.mod"), v)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("building Packer v%s: %w", PinnedVersion, err)
	}
	fmt.Fprintf(log, "packer: built %s\n", final)
	return final, nil
}

// lookPath finds an executable called name in the PATH list path (like
// exec.LookPath, but with the caller's PATH).
func lookPath(name, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q: %w", name, errNotInPath)
}

var errNotInPath = errors.New("not found in PATH")

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}
