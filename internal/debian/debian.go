// Package debian makes Debian disks without an installer, as Debian's cloud
// team does: a bootstrap of the suite with mmdebstrap, customized in its
// root on the host (scripts/debian/customize.sh) and cached by its inputs,
// then a GPT disk made with libguestfs (BIOS boot, ESP, root last so it
// can grow) that scripts/debian/finish.sh finishes inside: fstab, the
// record of the build, the kernel line, the initramfs, GRUB for BIOS and
// UEFI. The host's kernel needs no vfat, loop device or KVM.
package debian

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gold-standard-images/internal/diskcheck"
	"gold-standard-images/internal/run"
)

// Spec is what a Debian build needs (the lead fills it from config).
type Spec struct {
	Root            string   // repository root (recipes are read from Root/scripts/debian)
	Suite           string   // "bookworm"
	Mirror          string   // e.g. http://deb.debian.org/debian (DEBIAN_MIRROR)
	SecurityMirror  string   // e.g. http://deb.debian.org/debian-security
	VMName, Version string   // recorded in /etc/gold-standard-image
	DiskSizeMiB     int      // site disk_size; the disk is sparse
	Timezone        string   // site timezone, e.g. "UTC"
	NTPServers      []string // site ntp_servers; empty keeps the provider's or Debian's
	CacheDir        string   // where cached bootstraps live
	// Force bootstraps again though a cached bootstrap has the same
	// inputs (FORCE=1): the archive moves on (security updates, point
	// releases) while the inputs stay the same.
	Force bool
	Log   string // log file of this provider's tool output (mmdebstrap, guestfish)
	// GuestfishEnv is extra environment for guestfish: what
	// kvm.Choice.LibguestfsEnv returns (force_tcg where KVM runs no guest),
	// and LIBGUESTFS_BACKEND=direct unless the user chose a backend.
	GuestfishEnv []string
}

// Bounds of the external tools.
var (
	bootstrapBound = 20 * time.Minute // mmdebstrap: about 70 s here
	guestfishBound = 20 * time.Minute // the appliance starts in about 45 s under TCG
	diskcheckBound = 2 * time.Minute  // qemu-img create
)

// rootLabel names the root file system, so that finish.sh finds it
// inside the appliance whatever the kernel calls the disk.
const rootLabel = "gsi-root"

// MakeDisk writes the qcow2 disk of provider to out (a temporary name in
// the same folder, renamed once qemu-img has checked it), printing
// progress lines to progress.
func MakeDisk(ctx context.Context, s Spec, provider, out string, progress io.Writer) error {
	r, err := lookup(provider)
	if err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return fmt.Errorf("making the Debian disk of %s: %w", provider, err)
	}
	if progress == nil {
		progress = io.Discard
	}
	logw, closeLog, err := openLog(s.Log)
	if err != nil {
		return fmt.Errorf("making the Debian disk of %s: %w", provider, err)
	}
	defer closeLog()

	rootfs, err := bootstrap(ctx, s, provider, r, logw, progress)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("making the Debian disk of %s: %w", provider, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("making the Debian disk of %s: %w", provider, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	fmt.Fprintf(progress, ">> debian: %s disk (libguestfs, %d MiB sparse)\n", provider, s.DiskSizeMiB)
	if err := makeDisk(ctx, s, provider, r, rootfs, tmp.Name(), logw); err != nil {
		return fmt.Errorf("making the Debian disk of %s: %w", provider, err)
	}
	if _, err := diskcheck.Check(ctx, tmp.Name(), "qcow2", diskcheck.Options{Output: logw, Log: s.Log}); err != nil {
		return fmt.Errorf("making the Debian disk of %s: %w", provider, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("making the Debian disk of %s: %w", provider, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("making the Debian disk of %s: %w", provider, err)
	}
	fmt.Fprintf(progress, ">> debian: %s disk made in %s: %s\n", provider, time.Since(start).Round(time.Second), out)
	return nil
}

// check refuses a Spec that cannot make a disk, naming the field.
func (s Spec) check() error {
	for _, f := range []struct{ name, v string }{
		{"Root", s.Root}, {"Suite", s.Suite}, {"Mirror", s.Mirror},
		{"SecurityMirror", s.SecurityMirror}, {"CacheDir", s.CacheDir},
	} {
		if f.v == "" {
			return fmt.Errorf("checking the Debian spec: %q is empty", f.name)
		}
	}
	if s.DiskSizeMiB < 2048 {
		return fmt.Errorf("checking the Debian spec: %q is %d MiB, want at least 2048", "DiskSizeMiB", s.DiskSizeMiB)
	}
	for _, v := range append([]string{s.Suite, s.Mirror, s.SecurityMirror, s.VMName, s.Version, s.Timezone}, s.NTPServers...) {
		if strings.ContainsAny(v, "'\"\\\n$` ") {
			return fmt.Errorf("checking the Debian spec: %q holds a quote, space or shell character", v)
		}
	}
	return nil
}

// openLog opens the tool log for appending; an empty path discards.
func openLog(path string) (io.Writer, func(), error) {
	if path == "" {
		return io.Discard, func() {}, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// runTool runs one external tool, bounded, its output in the log.
func runTool(ctx context.Context, s Spec, logw io.Writer, c run.Cmd) error {
	c.Output = logw
	c.Log = s.Log
	return run.Run(ctx, c)
}
