//go:build mage

package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/magefile/mage/mg"

	"gold-standard-images/internal/boxcheck"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/tree"
)

// Boxes looks at the built Vagrant boxes. (Not test:boxes: test is a plain
// target that CI runs as `go run magefile.go test`, and a Go type cannot
// share its name.)
type Boxes mg.Namespace

// Check boots each Vagrant box of artifacts/<vm_name>.json and the debug boxes' catalogs (libvirt or VirtualBox, as the host has), logs in with keys/vagrant, checks it and destroys it.
//
// Each box of the catalog's newest version (VERSION picks another) is added
// through the catalog into a Vagrant home of its own, so your boxes are
// untouched; checked are the image record /etc/gold-standard-image, that
// sshd answers and that sudo works. libvirt guests get a pool and an
// isolated network of their own; where no libvirtd runs, root starts one
// for the check. QEMU_ACCELERATOR overrides the KVM probe that picks the
// libvirt domain type (kvm, or qemu for TCG). mage -v shows vagrant's
// output.
func (Boxes) Check(ctx context.Context, vmName string) error {
	accel, err := kvm.Choose(ctx, os.Getenv, "")
	if err != nil {
		return err
	}
	_, err = boxcheck.Run(ctx, boxcheck.Options{
		Catalog: tree.CatalogFile(tree.ArtifactsDir, vmName), DebugCatalogs: boxcheck.DebugCatalogs(tree.ArtifactsDir, vmName), VMName: vmName,
		Version: envvar.Version.Get(os.Getenv), KeyFile: filepath.Join(repoRoot(), "keys", "vagrant"),
		Accelerator: accel.Accelerator, Out: progressLines{}, Log: toolOutput(),
	})
	return err
}

// progressLines prints each line it gets as a progress line.
type progressLines struct{}

func (progressLines) Write(p []byte) (int, error) {
	os.Stderr.WriteString(">> " + string(p))
	return len(p), nil
}
