package debian

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gold-standard-images/internal/filelock"
	"gold-standard-images/internal/run"
)

// bootstrapRecipe is the recipe file of the bootstrap, under Root: its
// content is part of the cache key.
const bootstrapRecipe = "scripts/debian/customize.sh"

// sources are the apt lines of the bootstrap (and of the image): the
// suite with its updates and security updates, main only.
func (s Spec) sources() []string {
	return []string{
		fmt.Sprintf("deb %s %s main", s.Mirror, s.Suite),
		fmt.Sprintf("deb %s %s-updates main", s.Mirror, s.Suite),
		fmt.Sprintf("deb %s %s-security main", s.SecurityMirror, s.Suite),
	}
}

// hookEnv is what customize.sh reads.
func hookEnv(provider string, r row) []string {
	return []string{
		"GSI_PROVIDER=" + provider,
		"GSI_BOOTS=" + flag(r.boots),
		"GSI_CLOUD_INIT=" + flag(r.cloudInit),
		"GSI_DATASOURCES=" + strings.Join(r.datasources, ","),
		"GSI_KERNEL_ARGS=" + strings.Join(r.kernelArgs, " "),
		"GSI_ROOT_LABEL=" + rootLabel,
		"GSI_SSHD=" + strings.Join(r.sshd, ","),
	}
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// cacheKey is the sha256 of everything the bootstrap of provider is made
// from: the apt sources, the package list, the hook's settings and the
// recipe file.
func cacheKey(s Spec, provider string, r row, recipe []byte) string {
	h := sha256.New()
	for _, part := range [][]string{{"debian-bootstrap-v1", provider}, s.sources(), r.Packages(), hookEnv(provider, r)} {
		fmt.Fprintf(h, "%q\n", part)
	}
	h.Write(recipe)
	return hex.EncodeToString(h.Sum(nil))
}

// bootstrap returns the rootfs tarball of provider's bootstrap: the cached
// one when its inputs are unchanged, else a new one made with mmdebstrap
// (under a lock, at a temporary name, renamed when whole).
func bootstrap(ctx context.Context, s Spec, provider string, r row, logw, progress io.Writer) (string, error) {
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("bootstrapping Debian %s for %s: %w", s.Suite, provider, err)
	}
	recipePath := filepath.Join(s.Root, bootstrapRecipe)
	recipe, err := os.ReadFile(recipePath)
	if err != nil {
		return fail(err)
	}
	key := cacheKey(s, provider, r, recipe)
	path := filepath.Join(s.CacheDir, fmt.Sprintf("%s-%s-%s.tar", s.Suite, provider, key[:16]))
	if _, err := os.Stat(path); err == nil && !s.Force {
		fmt.Fprintf(progress, ">> debian: bootstrap %s for %s (cached %s)\n", s.Suite, provider, filepath.Base(path))
		return path, nil
	}
	unlock, err := filelock.Lock(ctx, path+".lock", "another build bootstrapping Debian", func() {
		fmt.Fprintf(progress, ">> debian: waiting for another build bootstrapping %s\n", filepath.Base(path))
	})
	if err != nil {
		return fail(err)
	}
	defer unlock()
	if _, err := os.Stat(path); err == nil && !s.Force {
		fmt.Fprintf(progress, ">> debian: bootstrap %s for %s (made by another build)\n", s.Suite, provider)
		return path, nil
	}
	// What a killed run left of this entry (only this one's: other
	// entries have locks of their own).
	stale, _ := filepath.Glob(filepath.Join(s.CacheDir, "."+filepath.Base(path)+".tmp-*"))
	for _, d := range stale {
		os.RemoveAll(d)
	}
	work, err := os.MkdirTemp(s.CacheDir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(work)
	// apt downloads as _apt, sandboxed, where it can read the folder.
	if err := os.Chmod(work, 0o755); err != nil {
		return fail(err)
	}
	tmp := filepath.Join(work, "rootfs.tar")
	start := time.Now()
	fmt.Fprintf(progress, ">> debian: bootstrap %s for %s (%d packages, mmdebstrap)\n", s.Suite, provider, len(r.Packages()))
	args := []string{"--variant=minbase", "--mode=root", "--format=tar",
		"--include=" + strings.Join(r.Packages(), ","),
		"--customize-hook=sh " + shellQuote(recipePath) + ` "$1"`,
		s.Suite, tmp}
	args = append(args, s.sources()...)
	err = runTool(ctx, s, logw, run.Cmd{
		Name:    "mmdebstrap",
		Args:    args,
		Env:     append(hookEnv(provider, r), "TMPDIR="+work),
		Timeout: bootstrapBound,
		Hint:    fmt.Sprintf("the mirror %s is slow or unreachable", s.Mirror),
	})
	if err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	fmt.Fprintf(progress, ">> debian: bootstrap %s for %s (made in %s)\n", s.Suite, provider, time.Since(start).Round(time.Second))
	return path, nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
