//go:build mage

package main

import (
	"context"
	"errors"
	"os"

	"github.com/magefile/mage/mg"

	"gold-standard-images/internal/artifact"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/packerbin"
	"gold-standard-images/internal/pipeline"
	"gold-standard-images/internal/providers"
)

// Build makes the images: ISO, kickstart, Packer, conversions, checksums, catalog.
type Build mg.Namespace

// Centos7 builds the CentOS 7.9.2009 images for every provider (aws, azure, docker, gcp, openstack, virtualbox, vmware).
//
// Environment: ONLY=aws,gcp or EXCEPT=virtualbox choose providers; FORCE=1
// rebuilds up-to-date builds; VERSION overrides the site's version; PACKER
// names the Packer binary; ISO_CACHE the folder the ISO is kept in. Logs go
// to logs/<version>/CentOS-7.9.2009/<provider>.log; mage -v shows Packer's
// output as well.
func (Build) Centos7(ctx context.Context) error { return buildOS(ctx, "CentOS-7.9.2009") }

// Rhel7 builds the Red Hat Enterprise Linux 7.9 images; the site supplies the ISO (see templates/site.json).
//
// Environment: ONLY, EXCEPT, FORCE, VERSION, PACKER and ISO_CACHE as for
// build:centos7.
func (Build) Rhel7(ctx context.Context) error { return buildOS(ctx, "RedHat-7.9") }

// Os builds the images of any OS definition, named by its vm_name (templates/os/<vm_name>.json).
//
// Environment: ONLY, EXCEPT, FORCE, VERSION, PACKER and ISO_CACHE as for
// build:centos7.
func (Build) Os(ctx context.Context, vmName string) error { return buildOS(ctx, vmName) }

func buildOS(ctx context.Context, vmName string) error {
	cfg, err := loadConfig(vmName)
	if err != nil {
		return err
	}
	_, err = pipeline.Build(ctx, cfg, buildDeps(cfg), pipeline.Options{Out: os.Stderr, Verbose: mg.Verbose()})
	return err
}

// errNotWired marks the steps whose packages are merged separately.
var errNotWired = errors.New("not wired yet")

// buildDeps connects the pipeline to the packages that do each step.
func buildDeps(cfg *config.Config) pipeline.Deps {
	return pipeline.Deps{
		PackerPath: func(ctx context.Context) (string, string, error) {
			return packerbin.Find(ctx, cfg.Root, os.Getenv, os.Stderr)
		},
		FetchISO: func(ctx context.Context) (string, string, error) {
			return "", "", errNotWired // iso.Fetch(ctx, cfg, opts) -> Result.Path, Result.SHA256
		},
		StartKickstart: func(ctx context.Context) (int, func(), error) {
			return 0, nil, errNotWired // kickstart.Start(ctx, addr, handler)
		},
		GuestKickstartURL: nil, // kickstart's guest base URL per builder
		Convert: func(ctx context.Context, selected []providers.Provider) ([]artifact.Artifact, error) {
			return nil, errNotWired // convert.Run(ctx, cfg, selected, opts)
		},
		Checksum: func(ctx context.Context, arts []artifact.Artifact) error {
			return errNotWired // checksum
		},
		Catalog: func(ctx context.Context, arts []artifact.Artifact) error {
			return errNotWired // catalog
		},
	}
}
