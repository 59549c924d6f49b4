//go:build mage

package main

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/magefile/mage/mg"

	"gold-standard-images/internal/buildsteps"
	"gold-standard-images/internal/pipeline"
	"gold-standard-images/internal/sshkeys"
)

// Build makes the images: ISO, kickstart, Packer, conversions, checksums, catalog, inspection.
type Build mg.Namespace

// Centos7 builds the CentOS 7.9.2009 images for every provider (aws, azure, docker, gcp, openstack, virtualbox, vmware).
//
// Environment: ONLY=aws,gcp or EXCEPT=virtualbox choose providers; FORCE=1
// rebuilds up-to-date builds; VERSION overrides the site's version; PACKER
// names the Packer binary (else a 1.9.x packer on PATH, else v1.9.4 built
// into PACKER_CACHE, default the user cache folder); ISO_CACHE is the folder
// the ISO is kept in (default isos/); CATALOG_BASE_URL is the web address of
// artifacts/ for the Vagrant catalog (default file:// URLs);
// QEMU_ACCELERATOR=kvm|tcg overrides the KVM probe (a tiny guest run on
// /dev/kvm; TCG where it runs none); PACKER_TIMEOUT bounds each packer
// build (default ssh_timeout plus 1h with KVM, 3h with TCG);
// LIBGUESTFS_BACKEND and LIBGUESTFS_BACKEND_SETTINGS tune the docker
// conversion and the inspection of the images (mage -h artifacts:inspect;
// default direct). Logs go to
// logs/<version>/CentOS-7.9.2009/<provider>.log; mage -v shows Packer's
// output as well.
func (Build) Centos7(ctx context.Context) error { return buildOS(ctx, "CentOS-7.9.2009") }

// Rhel7 builds the Red Hat Enterprise Linux 7.9 images; the site supplies the ISO (see templates/site.json).
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Rhel7(ctx context.Context) error { return buildOS(ctx, "RedHat-7.9") }

// Os builds the images of any OS definition, named by its vm_name (templates/os/<vm_name>.json).
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Os(ctx context.Context, vmName string) error { return buildOS(ctx, vmName) }

func buildOS(ctx context.Context, vmName string) error {
	cfg, err := loadConfig(vmName)
	if err != nil {
		return err
	}
	// Packer logs in with keys/packer; the vagrant user gets keys/vagrant.pub.
	if _, err := sshkeys.Ensure(filepath.Join(cfg.Root, "keys"), "packer", "vagrant"); err != nil {
		return err
	}
	_, err = pipeline.Build(ctx, cfg, buildsteps.Deps(cfg, os.Getenv, os.Stderr, toolOutput()), pipeline.Options{Out: os.Stderr, Verbose: mg.Verbose()})
	return err
}

// toolOutput is where the output of external tools goes: the terminal with
// mage -v, nowhere otherwise.
func toolOutput() io.Writer {
	if mg.Verbose() {
		return os.Stderr
	}
	return io.Discard
}
