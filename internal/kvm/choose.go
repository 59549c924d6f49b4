package kvm

import (
	"context"
	"fmt"

	"gold-standard-images/internal/envvar"
)

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
	v, err := envvar.QEMUAccelerator.Get(getenv)
	if err != nil {
		return Choice{}, fmt.Errorf("choosing the QEMU accelerator: %w", err)
	}
	if v == "" {
		r := Probe(ctx, device)
		return Choice{Accelerator: r.Accelerator(), Line: r.String()}, nil
	}
	return Choice{Accelerator: v, Line: fmt.Sprintf("KVM: not probed, %s=%s", envvar.QEMUAccelerator.Name, v)}, nil
}

// LibguestfsEnv is the environment that makes libguestfs use the choice:
// LIBGUESTFS_BACKEND_SETTINGS=force_tcg for TCG, unless the user set
// LIBGUESTFS_BACKEND_SETTINGS (read through getenv), which wins.
func (c Choice) LibguestfsEnv(getenv func(string) string) []string {
	if c.Accelerator != "tcg" || envvar.LibguestfsBackendSettings.Get(getenv) != "" {
		return nil
	}
	return []string{"LIBGUESTFS_BACKEND_SETTINGS=force_tcg"}
}

// GuestfishEnv is the environment of a guestfish the builds start:
// LibguestfsEnv, and LIBGUESTFS_BACKEND=direct unless the user set
// LIBGUESTFS_BACKEND (read through getenv).
func (c Choice) GuestfishEnv(getenv func(string) string) []string {
	env := c.LibguestfsEnv(getenv)
	if envvar.LibguestfsBackend.Get(getenv) == "" {
		env = append(env, "LIBGUESTFS_BACKEND=direct")
	}
	return env
}
