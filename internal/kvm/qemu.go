package kvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gold-standard-images/internal/run"
)

// qemuTimeout bounds the QEMU check: with working KVM the firmware and the
// one-sector guest run in well under a second.
const qemuTimeout = 10 * time.Second

// bootSector is a floppy boot sector whose code writes 0x10 to QEMU's
// isa-debug-exit port (0xf4), which ends QEMU with exit status
// (0x10<<1)|1 = 33, then halts.
var bootSector = func() []byte {
	b := make([]byte, 512)
	copy(b, []byte{0xB0, 0x10, 0xE6, 0xF4, 0xFA, 0xF4, 0xEB, 0xFD}) // mov al,0x10; out 0xf4,al; cli; hlt; jmp $-1
	b[510], b[511] = 0x55, 0xAA
	return b
}()

const guestExitStatus = 33

// bootsWithQEMU boots the one-sector guest with QEMU and the given
// accelerator and returns "" when the guest ran, else why not.
func bootsWithQEMU(ctx context.Context, qemu, accel string, timeout time.Duration) string {
	dir, err := os.MkdirTemp("", "kvm-probe-")
	if err != nil {
		return "could not be checked with QEMU (" + err.Error() + ")"
	}
	defer os.RemoveAll(dir)
	disk := filepath.Join(dir, "boot.img")
	if err := os.WriteFile(disk, bootSector, 0o600); err != nil {
		return "could not be checked with QEMU (" + err.Error() + ")"
	}
	err = run.Run(ctx, run.Cmd{
		Name: qemu,
		Args: []string{"-accel", accel, "-nodefaults", "-no-user-config", "-display", "none", "-m", "16",
			"-drive", "file=" + disk + ",format=raw,if=floppy", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x01", "-no-reboot"},
		Timeout: timeout,
		Grace:   time.Second,
	})
	var exit *run.Error
	var timedOut *run.TimeoutError
	switch {
	case errors.As(err, &exit) && exitStatus(exit) == guestExitStatus:
		return ""
	case errors.As(err, &timedOut):
		return fmt.Sprintf("present but runs no guest (QEMU with accel=%s did not boot a one-sector test disk within %s)", accel, timeout)
	case err == nil:
		return fmt.Sprintf("present but runs no guest (QEMU with accel=%s ended before the test guest ran)", accel)
	default:
		return fmt.Sprintf("present but runs no guest (QEMU with accel=%s: %s)", accel, firstLine(err))
	}
}

func exitStatus(e *run.Error) int {
	var ee interface{ ExitCode() int }
	if errors.As(e.Err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func firstLine(err error) string {
	s := err.Error()
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
