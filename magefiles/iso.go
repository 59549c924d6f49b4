//go:build mage

package main

import (
	"context"
	"os"

	"github.com/magefile/mage/mg"

	"gold-standard-images/internal/iso"
)

// Iso downloads and verifies installation ISOs.
type Iso mg.Namespace

// Fetch downloads the installation ISO of an OS definition into the ISO cache and verifies its sha256 (and signed checksum file).
//
// Example: mage iso:fetch CentOS-7.9.2009. Resumes an interrupted download,
// retries, falls back to the next mirror, and does nothing when the cached
// ISO was verified before and is unchanged. A local path or file:// URL in
// iso_url (RHEL) is verified in place. ISO_CACHE overrides the cache folder
// (default isos/); VERSION overrides the site's version.
func (Iso) Fetch(ctx context.Context, vmName string) error {
	cfg, err := loadConfig(vmName)
	if err != nil {
		return err
	}
	res, err := iso.Fetch(ctx, cfg, iso.Options{Out: os.Stderr})
	if err == nil {
		say("iso: %s sha256 %s", res.Path, res.SHA256)
	}
	return err
}

// Verify re-hashes the fetched ISO of an OS definition and checks it against iso_checksum and the signed checksum file.
//
// Example: mage iso:verify CentOS-7.9.2009. Always reads the whole file. A
// bad download in the cache is removed. ISO_CACHE overrides the cache folder
// (default isos/).
func (Iso) Verify(ctx context.Context, vmName string) error {
	cfg, err := loadConfig(vmName)
	if err != nil {
		return err
	}
	res, err := iso.Verify(ctx, cfg, iso.Options{Out: os.Stderr})
	if err == nil {
		say("iso: %s verified, sha256 %s", res.Path, res.SHA256)
	}
	return err
}

// Import verifies a local ISO file (brought on a disk to an air-gapped site) and puts it into the ISO cache, where builds find it without network.
//
// Example: mage iso:import CentOS-7.9.2009 /media/usb/CentOS-7-x86_64-Minimal-2009.iso.
// Checks the sha256 of the OS definition and, where it names one, the
// vendor's signed checksum file (from the cache, else beside the ISO), copies
// the ISO under a temporary name and moves it into the cache only once it
// matched. ISO_CACHE overrides the cache folder (default isos/).
func (Iso) Import(ctx context.Context, vmName, path string) error {
	cfg, err := loadConfig(vmName)
	if err != nil {
		return err
	}
	res, err := iso.Import(ctx, cfg, path, iso.Options{Out: os.Stderr})
	if err == nil {
		say("iso: %s verified, sha256 %s", res.Path, res.SHA256)
	}
	return err
}
