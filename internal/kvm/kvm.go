// Package kvm decides whether hardware virtualisation is usable by running a
// guest, not by opening the device: on some hosts /dev/kvm opens and even
// creates a VM, yet no ordinary guest runs on it (QEMU and libguestfs then
// wait forever). The probe runs a one-instruction guest (HLT) straight on
// the device and expects the HLT exit, then, where QEMU is installed, boots
// a one-sector disk with QEMU and accel=kvm, which is what the builds and
// libguestfs do (on some hosts the first passes and the second hangs), and
// last the host's Linux kernel to its panic (on some hosts the one-sector
// guest runs at times, yet no kernel boots and libguestfs hangs).
package kvm

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"time"
)

// DefaultDevice is the KVM device probed when none is named.
const DefaultDevice = "/dev/kvm"

// probeTimeout bounds the guest run: a HLT guest exits in microseconds.
const probeTimeout = 2 * time.Second

// Result is what the probe found.
type Result struct {
	Device string
	Usable bool
	// Reason says why KVM is not usable ("absent", "not accessible: ...",
	// "runs no guest: ..."); empty when it is.
	Reason string
}

// Accelerator is the QEMU accelerator the result calls for: "kvm" or "tcg".
func (r Result) Accelerator() string {
	if r.Usable {
		return "kvm"
	}
	return "tcg"
}

// String is the preflight's line, e.g. "KVM: usable" or "KVM: /dev/kvm
// present but runs no guest (...); using TCG, builds are slower".
func (r Result) String() string {
	if r.Usable {
		return "KVM: usable"
	}
	return fmt.Sprintf("KVM: %s %s; using TCG, builds are slower", r.Device, r.Reason)
}

var (
	cacheMu sync.Mutex
	cache   = map[string]Result{}
)

// QEMU is the emulator the second check runs, looked up in PATH.
const QEMU = "qemu-system-x86_64"

// Probe tells whether device (empty is /dev/kvm) runs a guest. The answer is
// cached per device for the life of the process. The QEMU check runs only
// for /dev/kvm (QEMU opens no other) and only when QEMU is installed;
// without QEMU nothing here would use KVM anyway.
func Probe(ctx context.Context, device string) Result {
	if device == "" {
		device = DefaultDevice
	}
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if r, ok := cache[device]; ok {
		return r
	}
	r := Result{Device: device, Usable: true}
	reason := probe(device, probeTimeout)
	if reason == "" && device == DefaultDevice {
		if qemu, err := exec.LookPath(QEMU); err == nil {
			reason = bootsWithQEMU(ctx, qemu, "kvm", qemuCPUs, qemuTimeout)
			if reason == "" {
				reason = bootsKernel(ctx, qemu, "kvm", kernelTimeout)
			}
		}
	}
	if reason != "" {
		r.Usable, r.Reason = false, reason
	}
	if ctx.Err() == nil { // a cancelled probe says nothing of the device
		cache[device] = r
	}
	return r
}
