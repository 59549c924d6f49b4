//go:build mage

package main

import (
	"context"
	"os"

	"gold-standard-images/internal/inspect"
	"gold-standard-images/internal/providers"
)

// Inspect opens each built image of one OS (by vm_name) read-only and checks the rules its platform needs, one line per rule.
//
// A disk is read with libguestfs (one session per image; GCP's disk.raw and
// the OVAs' disk are extracted beside it first), docker's rootfs tarball in
// Go. The rules (internal/inspect, Table) follow the provider and the OS
// family libguestfs finds: initramfs drivers of every kernel, kernel
// arguments, agents installed and enabled, sshd settings, root locked, no
// SSH host keys, no build key, /etc/gold-standard-image. Fails naming each
// broken rule. Environment: VERSION overrides the site's version;
// ONLY=aws,gcp or EXCEPT=docker choose providers; QEMU_ACCELERATOR=kvm|tcg
// overrides the KVM probe; LIBGUESTFS_BACKEND and
// LIBGUESTFS_BACKEND_SETTINGS tune libguestfs. guestfish's messages go to
// logs/<version>/<vm_name>/<provider>.inspect.log; mage -v shows them too.
func (Artifacts) Inspect(ctx context.Context, vmName string) error {
	cfg, err := loadConfig(vmName)
	if err != nil {
		return err
	}
	selected, err := providers.SelectFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	_, err = inspect.Run(ctx, cfg, selected, inspect.Options{Root: cfg.Root, Out: os.Stderr, ToolOutput: toolOutput()})
	return err
}
