//go:build mage

package main

import (
	"context"
	"os"
	"strings"

	"gold-standard-images/internal/plan"
)

// Plan prints the CI build plan as JSON: one job per vm_name and runner (kvm, virtualbox, vmware) with its providers, folders and cache key.
//
// -vms=CentOS-7.9.2009,RedHat-7.9 plans those vm_names (default: every
// definition in templates/os/; one that does not load is a warning then,
// an error when named). The cache key is the fingerprint a local build
// skips by. .github/workflows/images.yml feeds the jobs to a matrix.
// Environment: ONLY and EXCEPT choose providers; VERSION overrides the
// site's version; PACKER (else a 1.9.x packer on PATH, else v1.9.4) is the
// Packer version in the key; ISO_CACHE the ISO folder (default isos/).
func Plan(ctx context.Context, vms *string) error {
	var names []string
	if vms != nil {
		names = strings.FieldsFunc(*vms, func(r rune) bool { return r == ',' || r == ' ' })
	}
	p, err := plan.Make(ctx, repoRoot(), names, os.Getenv, plan.Options{})
	if err != nil {
		return err
	}
	data, err := p.Marshal()
	if err != nil {
		return err
	}
	if _, err := os.Stdout.Write(data); err != nil {
		return err
	}
	for _, w := range p.Warnings {
		say("plan: warning: %s", w)
	}
	for _, pr := range p.Problems {
		say("plan: %s not planned: %s", pr.VMName, pr.Error)
	}
	return p.Err(len(names) > 0)
}
