package kvm

import (
	"context"
	"fmt"
)

// AcceleratorVar names the environment variable that overrides the probe:
// "kvm" or "tcg".
const AcceleratorVar = "QEMU_ACCELERATOR"

// Choice is the accelerator QEMU and libguestfs are to use, and why.
type Choice struct {
	Accelerator string // "kvm" or "tcg"
	// Line says what was found, for the preflight: the probe's result, or
	// that QEMU_ACCELERATOR decided.
	Line string
}

// Choose returns the accelerator: QEMU_ACCELERATOR (read through getenv)
// when set, else what the probe of device (empty is /dev/kvm) finds.
func Choose(ctx context.Context, getenv func(string) string, device string) (Choice, error) {
	switch v := getenv(AcceleratorVar); v {
	case "kvm", "tcg":
		return Choice{Accelerator: v, Line: fmt.Sprintf("KVM: not probed, %s=%s", AcceleratorVar, v)}, nil
	case "":
		r := Probe(ctx, device)
		return Choice{Accelerator: r.Accelerator(), Line: r.String()}, nil
	default:
		return Choice{}, fmt.Errorf("choosing the QEMU accelerator: %s=%q: want kvm or tcg", AcceleratorVar, v)
	}
}

// LibguestfsEnv is the environment that makes libguestfs use the choice:
// LIBGUESTFS_BACKEND_SETTINGS=force_tcg for TCG, unless the user set
// LIBGUESTFS_BACKEND_SETTINGS (read through getenv), which wins.
func (c Choice) LibguestfsEnv(getenv func(string) string) []string {
	if c.Accelerator != "tcg" || getenv("LIBGUESTFS_BACKEND_SETTINGS") != "" {
		return nil
	}
	return []string{"LIBGUESTFS_BACKEND_SETTINGS=force_tcg"}
}
