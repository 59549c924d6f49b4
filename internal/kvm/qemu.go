package kvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gold-standard-images/internal/run"
)

// qemuTimeout bounds each QEMU check: with working KVM the firmware and the
// one-sector guest run in well under a second (under TCG in about 0.4 s).
// Seen on a host whose KVM runs no ordinary guest: QEMU's default CPU boots
// it in 10 to 20 s or never, -cpu host and -cpu max abort at once.
const qemuTimeout = 5 * time.Second

// qemuCPUs are the CPU models the QEMU check boots the guest with: the
// default (Packer's qemu builder) and max (libguestfs), then host.
var qemuCPUs = []string{"", "max", "host"}

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

// bootsWithQEMU boots the one-sector guest with QEMU, the given accelerator
// and each of the CPU models ("" is QEMU's default), and returns "" when the
// guest ran every time, else why not.
func bootsWithQEMU(ctx context.Context, qemu, accel string, cpus []string, timeout time.Duration) string {
	for _, cpu := range cpus {
		if reason := bootOnce(ctx, qemu, accel, cpu, timeout); reason != "" {
			return reason
		}
	}
	return ""
}

func bootOnce(ctx context.Context, qemu, accel, cpu string, timeout time.Duration) string {
	dir, err := os.MkdirTemp("", "kvm-probe-")
	if err != nil {
		return "could not be checked with QEMU (" + err.Error() + ")"
	}
	defer os.RemoveAll(dir)
	disk := filepath.Join(dir, "boot.img")
	if err := os.WriteFile(disk, bootSector, 0o600); err != nil {
		return "could not be checked with QEMU (" + err.Error() + ")"
	}
	args := []string{"-accel", accel, "-nodefaults", "-no-user-config", "-display", "none", "-m", "16",
		"-drive", "file=" + disk + ",format=raw,if=floppy", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x01", "-no-reboot"}
	what := "accel=" + accel
	if cpu != "" {
		args = append(args, "-cpu", cpu)
		what += " -cpu " + cpu
	}
	err = run.Run(ctx, run.Cmd{
		Name:    qemu,
		Args:    args,
		Timeout: timeout,
		Grace:   time.Second,
	})
	var exit *run.Error
	var timedOut *run.TimeoutError
	switch {
	case errors.As(err, &exit) && exitStatus(exit) == guestExitStatus:
		return ""
	case errors.As(err, &timedOut):
		return fmt.Sprintf("present but runs no guest (QEMU with %s did not boot a one-sector test disk within %s)", what, timeout)
	case err == nil:
		return fmt.Sprintf("present but runs no guest (QEMU with %s ended before the test guest ran)", what)
	default:
		return fmt.Sprintf("present but runs no guest (QEMU with %s: %s)", what, lastLine(err))
	}
}

func exitStatus(e *run.Error) int {
	var ee interface{ ExitCode() int }
	if errors.As(e.Err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// lastLine is the last line of a failed QEMU's error: its own message.
func lastLine(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	return lines[len(lines)-1]
}
