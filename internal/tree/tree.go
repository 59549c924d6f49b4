// Package tree owns every path of the tree the builds write below the
// repository root, reads the artifacts tree back into a typed list (Scan)
// and types the files a build produces (Artifact):
//
//	artifacts/<version>/<vm_name>/<provider>/<vm_name>-<version>_<provider>.<ext>
//	artifacts/<version>/<vm_name>/<provider>/.<file>.made   convert's record of an artifact
//	artifacts/<vm_name>.json                                the Vagrant catalog
//	artifacts/<vm_name>-<provider>.json                     the catalog of a debug box (catalog.CatalogName)
//	logs/<version>/<vm_name>/<provider>.log                 Packer's log of a build
//	logs/<version>/<vm_name>/<provider>.convert.log         the conversion tools' log
//	isos/                                                   the ISO cache (ISO_CACHE)
//	.cache/packer-output/<version>/<vm_name>/<provider>/    Packer's output (staging)
//	.cache/packer-vars/<version>/<vm_name>/<provider>.json  Packer's var-file
//	.cache/stamps/<version>/<vm_name>/<provider>.json       the last successful build
//	.cache/packer_cache/                                    Packer's own cache
//	.cache/ks/                                              the kickstart container
//
// Paths are relative to the repository root unless a doc says otherwise.
package tree

import (
	"context"
	"fmt"
	"path/filepath"

	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/filelock"
)

// The top folders of the tree.
const (
	ArtifactsDir = "artifacts" // the artifacts, SHA256SUM files and catalogs
	LogsDir      = "logs"      // the build logs
	ISOCacheDir  = "isos"      // the ISO cache unless ISO_CACHE names another
	CacheDir     = ".cache"    // staging and state nobody ships
)

// Files and folders of CacheDir that belong to no single build.
const (
	PackerCache    = CacheDir + "/packer_cache"    // Packer's PACKER_CACHE_DIR
	KSServerBinary = CacheDir + "/ks/ksserver"     // the kickstart server built for ks:up
	KSImageTarball = CacheDir + "/ks/ks-image.tar" // its container image
	DebianCache    = CacheDir + "/debian"          // the Debian builds' bootstraps, cached by their inputs
)

// ISOCache is the ISO cache folder: $ISO_CACHE if set (relative to root
// when not absolute), else <root>/isos.
func ISOCache(root string, getenv func(string) string) string {
	dir := envvar.ISOCache.Or(getenv, ISOCacheDir)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	return dir
}

// CatalogFile is the Vagrant catalog of vmName in the artifacts folder
// artifactsDir: <artifactsDir>/<vm_name>.json.
func CatalogFile(artifactsDir, vmName string) string {
	return filepath.Join(artifactsDir, vmName+".json")
}

// Build is the part of the tree one build writes: one version of one
// vm_name (config.Config.Tree gives it).
type Build struct {
	Version string // e.g. "1.0.0"
	VMName  string // e.g. "CentOS-7.9.2009"
}

// BaseName is the stem every file of a provider's build is named after:
// <vm_name>-<version>_<provider>.
func (b Build) BaseName(provider string) string {
	return fmt.Sprintf("%s-%s_%s", b.VMName, b.Version, provider)
}

// ArtifactName is the file name of a provider's artifact:
// <vm_name>-<version>_<provider>.<ext>.
func (b Build) ArtifactName(provider, ext string) string {
	return b.BaseName(provider) + "." + ext
}

// Dir is the folder of the build's provider folders:
// artifacts/<version>/<vm_name>.
func (b Build) Dir() string { return filepath.Join(ArtifactsDir, b.Version, b.VMName) }

// ArtifactDir is the folder of one provider's artifacts:
// artifacts/<version>/<vm_name>/<provider>.
func (b Build) ArtifactDir(provider string) string {
	return filepath.Join(b.Dir(), provider)
}

// BuildLock is the lock of the build whose provider folders are in
// buildDir (artifacts/<version>/<vm_name>): <buildDir>/.build.lock, hidden
// from the tree. Convert and checksum hold it while they write there.
func BuildLock(buildDir string) string { return filepath.Join(buildDir, ".build.lock") }

// LockBuild takes the lock of the build in buildDir (BuildLock), calling
// waiting once if another run holds it, and waiting until ctx ends.
func LockBuild(ctx context.Context, buildDir string, waiting func()) (unlock func(), err error) {
	return filelock.Lock(ctx, BuildLock(buildDir), "another run on "+buildDir, waiting)
}

// Artifact is one artifact of a provider: ArtifactDir joined with
// ArtifactName.
func (b Build) Artifact(provider, ext string) string {
	return filepath.Join(b.ArtifactDir(provider), b.ArtifactName(provider, ext))
}

// PackerOutputRoot is the folder Packer writes every provider's output
// into: .cache/packer-output/<version>/<vm_name>. It is staging, outside
// artifacts/: conversion reads it and writes the final files into
// ArtifactDir.
func (b Build) PackerOutputRoot() string {
	return filepath.Join(CacheDir, "packer-output", b.Version, b.VMName)
}

// PackerOutput is where Packer writes one provider's output:
// .cache/packer-output/<version>/<vm_name>/<provider>.
func (b Build) PackerOutput(provider string) string {
	return filepath.Join(b.PackerOutputRoot(), provider)
}

// VarFile is the Packer var-file of one provider's build:
// .cache/packer-vars/<version>/<vm_name>/<provider>.json.
func (b Build) VarFile(provider string) string {
	return filepath.Join(CacheDir, "packer-vars", b.Version, b.VMName, provider+".json")
}

// Stamp is the record of one provider's last successful build:
// .cache/stamps/<version>/<vm_name>/<provider>.json.
func (b Build) Stamp(provider string) string {
	return filepath.Join(CacheDir, "stamps", b.Version, b.VMName, provider+".json")
}

// Log is one provider's build log: logs/<version>/<vm_name>/<provider>.log.
func (b Build) Log(provider string) string {
	return filepath.Join(LogsDir, b.Version, b.VMName, provider+".log")
}

// ConvertLog is the log of the tools one provider's conversion runs:
// logs/<version>/<vm_name>/<provider>.convert.log.
func (b Build) ConvertLog(provider string) string {
	return filepath.Join(LogsDir, b.Version, b.VMName, provider+".convert.log")
}
