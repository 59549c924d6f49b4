//go:build mage

package main

import (
	"context"
	"os"

	"gold-standard-images/internal/convert"
	"gold-standard-images/internal/providers"
)

// Convert turns Packer's output for one OS (by vm_name) into the files each platform takes, plus the virtualbox Vagrant box.
//
// azure: fixed VHD; gcp: sparse disk.raw tarball; docker: rootfs tarball
// (libguestfs); vmware: OVA with ovftool, else the VMX; aws, virtualbox,
// openstack: the disk as built; the virtualbox box. The other builds' boxes
// are debug boxes, made apart (artifacts:debugboxes). Outputs go to artifacts/<version>/<vm_name>/<provider>/; ones
// newer than their Packer output and unchanged since convert wrote them
// (size and time, recorded beside each) are kept. Environment: VERSION overrides
// the site's version; ONLY=aws,gcp or EXCEPT=docker choose providers;
// QEMU_ACCELERATOR=kvm|tcg overrides the KVM probe (which picks TCG where
// /dev/kvm runs no guest); LIBGUESTFS_BACKEND and
// LIBGUESTFS_BACKEND_SETTINGS tune libguestfs for the docker rootfs
// (default backend direct). Tools' output goes to
// logs/<version>/<vm_name>/<provider>.convert.log; mage -v shows it too.
func (Artifacts) Convert(ctx context.Context, vmName string) error {
	return runConvert(ctx, vmName, false)
}

// Debugboxes makes the debug boxes of one OS (by vm_name): Vagrant boxes of aws, azure, docker, gcp, openstack and vmware, whose images have no vagrant user.
//
// Each is a copy of the provider's disk with the vagrant user,
// keys/vagrant.pub and passwordless sudo added by guestfish, never the
// image that ships: aws's as a virtualbox box, vmware's as a vmware_desktop
// box (its disk one monolithicSparse VMDK), the others as libvirt boxes,
// in their provider folders, catalogued as artifacts/<vm_name>-<provider>.json.
// Builds make them too with DEBUG_BOXES=1. Environment: VERSION overrides
// the site's version; ONLY=aws,gcp or EXCEPT=docker choose providers;
// QEMU_ACCELERATOR=kvm|tcg overrides the KVM probe; LIBGUESTFS_BACKEND and
// LIBGUESTFS_BACKEND_SETTINGS tune libguestfs (default backend direct).
// Tools' output goes to logs/<version>/<vm_name>/<provider>.convert.log.
func (Artifacts) Debugboxes(ctx context.Context, vmName string) error {
	return runConvert(ctx, vmName, true)
}

func runConvert(ctx context.Context, vmName string, debugBoxes bool) error {
	cfg, err := loadConfig(vmName)
	if err != nil {
		return err
	}
	selected, err := providers.SelectFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	arts, err := convert.Run(ctx, cfg, selected, convert.Options{Root: cfg.Root, Log: sayWriter{}, ToolOutput: toolOutput(), DebugBoxes: debugBoxes})
	say("convert: %d artifact(s)", len(arts))
	return err
}

// sayWriter prints each line it gets as a progress line.
type sayWriter struct{}

func (sayWriter) Write(p []byte) (int, error) {
	os.Stderr.WriteString(">> convert: " + string(p))
	return len(p), nil
}
