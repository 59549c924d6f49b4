//go:build mage

package main

import (
	"context"
	"os"

	"gold-standard-images/internal/assemble"
	"gold-standard-images/internal/plan"
	"gold-standard-images/internal/release"
	"gold-standard-images/internal/tree"
)

// Assemble moves the artifact folders CI build jobs uploaded into artifacts/, refusing any whose SHA256SUM does not verify.
//
// <incoming> holds one folder per job of the plan in <planFile> (the JSON of
// mage plan), named by the job's id, as actions/download-artifact leaves
// them. A folder its job was not planned to write, one arriving twice with
// different content, or one differing from what artifacts/ already holds is
// refused too; the others are placed and every refusal is named. With an
// OpenPGP key (GPG_SIGNING_KEY or GPG_PUBLIC_KEY), a folder whose
// SHA256SUM.asc is missing or does not hold is refused; COSIGN_KEY,
// COSIGN_PASSWORD, COSIGN_PUBLIC_KEY and VERSION are read and checked as
// for artifacts:checksum.
func (Artifacts) Assemble(ctx context.Context, incoming, planFile string) error {
	p, err := plan.Read(planFile)
	if err != nil {
		return err
	}
	keys, _, err := signingKeys(tree.ArtifactsDir)
	if err != nil {
		return err
	}
	check := func(dir string) error { return release.CheckSignature(dir, keys) }
	_, err = assemble.Assemble(ctx, repoRoot(), incoming, &p, assemble.Options{Out: os.Stderr, CheckFolder: check})
	return err
}
