package kvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gold-standard-images/internal/run"
)

// kernelTimeout bounds the kernel check. Measured on 2 cores: the host's
// kernel reaches its panic in 6 to 10 s under TCG; where KVM works, in one
// to three. On a host whose KVM runs no ordinary guest it printed nothing
// in 120 s, even when the one-sector guests had run in 2.5 s (and then
// every libguestfs appliance hung until its bound). A KVM slower than this
// bound would be no faster than TCG: calling it unusable costs nothing.
const kernelTimeout = 10 * time.Second

// kernelPanicked is what the kernel prints when it finds no root file
// system, the end of the kernel check's guest.
const kernelPanicked = "Kernel panic"

// bootsKernel boots the host's Linux kernel (the one libguestfs's appliance
// runs) with QEMU, accel and -cpu max, without a root file system and with
// panic=-1: it must print its panic and QEMU must end within timeout. It
// returns "" when it did or when no kernel is readable here (then there is
// nothing to check, and libguestfs could not run either), else why not.
func bootsKernel(ctx context.Context, qemu, accel string, timeout time.Duration) string {
	kernel := hostKernel()
	if kernel == "" {
		return ""
	}
	dir, err := os.MkdirTemp("", "kvm-probe-")
	if err != nil {
		return "could not be checked with QEMU (" + err.Error() + ")"
	}
	defer os.RemoveAll(dir)
	serial := filepath.Join(dir, "serial.log")
	err = run.Run(ctx, run.Cmd{
		Name: qemu,
		Args: []string{"-accel", accel, "-cpu", "max", "-nodefaults", "-no-user-config", "-display", "none", "-m", "256",
			"-kernel", kernel, "-append", "console=ttyS0 panic=-1 quiet", "-serial", "file:" + serial, "-no-reboot"},
		Timeout: timeout,
		Grace:   time.Second,
	})
	printed, _ := os.ReadFile(serial)
	var timedOut *run.TimeoutError
	switch {
	case err == nil && strings.Contains(string(printed), kernelPanicked):
		return ""
	case errors.As(err, &timedOut):
		return fmt.Sprintf("present but runs no guest (QEMU with accel=%s did not boot the kernel %s to its end within %s)", accel, kernel, timeout)
	case err == nil:
		return fmt.Sprintf("present but runs no guest (QEMU with accel=%s ended before the kernel %s ran)", accel, kernel)
	default:
		return fmt.Sprintf("present but runs no guest (QEMU with accel=%s and the kernel %s: %s)", accel, kernel, lastLine(err))
	}
}

// hostKernel is the running kernel's image in /boot, else the newest
// /boot/vmlinuz-*, if this user can read it; "" if none.
func hostKernel() string {
	var candidates []string
	if release, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		candidates = append(candidates, "/boot/vmlinuz-"+strings.TrimSpace(string(release)))
	}
	others, _ := filepath.Glob("/boot/vmlinuz-*")
	slices.Reverse(others)
	for _, path := range append(candidates, others...) {
		if f, err := os.Open(path); err == nil {
			f.Close()
			return path
		}
	}
	return ""
}
