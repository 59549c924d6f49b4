//go:build mage

package main

import (
	"context"
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
// build (default ssh_timeout plus 1h with KVM, 3h with TCG); HEADLESS=0
// shows the hypervisors' consoles; PACKER_ON_ERROR=cleanup|abort|ask|
// run-cleanup-provisioner is Packer's -on-error (abort keeps a failed VM);
// LIBGUESTFS_BACKEND and LIBGUESTFS_BACKEND_SETTINGS tune the docker
// conversion and the inspection of the images (mage -h artifacts:inspect;
// default direct); DEBUG_BOXES=1 also makes the debug boxes of aws, azure,
// docker and gcp after their artifacts (mage -h artifacts:debugboxes);
// GPG_SIGNING_KEY, GPG_PUBLIC_KEY, COSIGN_KEY, COSIGN_PASSWORD and
// COSIGN_PUBLIC_KEY sign the release (mage -h artifacts:checksum). Logs go to
// logs/<version>/CentOS-7.9.2009/<provider>.log; mage -v shows Packer's
// output as well.
func (Build) Centos7(ctx context.Context) error { return buildOS(ctx, "CentOS-7.9.2009") }

// Rhel7 builds the Red Hat Enterprise Linux 7.9 images; the site supplies the ISO (see templates/site.json).
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Rhel7(ctx context.Context) error { return buildOS(ctx, "RedHat-7.9") }

// Rocky8 builds the Rocky Linux 8.10 images (ISO verified against Rocky's signed CHECKSUM).
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Rocky8(ctx context.Context) error { return buildOS(ctx, "Rocky-8.10") }

// Rocky9 builds the Rocky Linux 9.6 images (from Rocky's vault, the current mirror as fallback).
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Rocky9(ctx context.Context) error { return buildOS(ctx, "Rocky-9.6") }

// Rocky10 builds the Rocky Linux 10.1 images (x86-64-v3 CPU; ISO verified against Rocky's signed CHECKSUM).
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Rocky10(ctx context.Context) error { return buildOS(ctx, "Rocky-10.1") }

// Alma9 builds the AlmaLinux 9.6 images.
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Alma9(ctx context.Context) error { return buildOS(ctx, "AlmaLinux-9.6") }

// Alma10 builds the AlmaLinux 10.1 images (x86-64-v3 CPU).
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Alma10(ctx context.Context) error { return buildOS(ctx, "AlmaLinux-10.1") }

// Stream9 builds the CentOS Stream 9 images; the site gives the sha256 of the ISO it checked (see templates/site.json).
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Stream9(ctx context.Context) error { return buildOS(ctx, "CentOS-Stream-9") }

// Stream10 builds the CentOS Stream 10 images; the site gives the sha256 of the ISO it checked (see templates/site.json).
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Stream10(ctx context.Context) error { return buildOS(ctx, "CentOS-Stream-10") }

// Rhel8 builds the Red Hat Enterprise Linux 8.10 images; the site supplies the ISO (see templates/site.json).
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Rhel8(ctx context.Context) error { return buildOS(ctx, "RedHat-8.10") }

// Rhel9 builds the Red Hat Enterprise Linux 9.6 images; the site supplies the ISO (see templates/site.json).
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Rhel9(ctx context.Context) error { return buildOS(ctx, "RedHat-9.6") }

// Rhel10 builds the Red Hat Enterprise Linux 10.0 images; the site supplies the ISO (see templates/site.json).
//
// Environment: as for build:centos7 (mage -h build:centos7).
func (Build) Rhel10(ctx context.Context) error { return buildOS(ctx, "RedHat-10.0") }

// Debian12 builds the Debian 12 (bookworm) images without an installer: mmdebstrap from the site's Debian archive, one disk per provider made with libguestfs (azure, docker, gcp and openstack so far).
//
// Environment: DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR name the archives
// (else the site's debian_mirror and debian_security_mirror, default
// deb.debian.org); the rest as for build:centos7 (mage -h build:centos7),
// which a build without Packer ignores where they are Packer's. Logs go to
// logs/<version>/Debian-12/<provider>.log.
func (Build) Debian12(ctx context.Context) error { return buildOS(ctx, "Debian-12") }

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
	deps, err := buildsteps.Deps(cfg, os.Getenv, os.Stderr, toolOutput())
	if err != nil {
		return err
	}
	_, err = pipeline.Build(ctx, cfg, deps, pipeline.Options{Out: os.Stderr, Verbose: mg.Verbose()})
	return err
}
