//go:build mage

package main

import (
	"context"
	"os"

	"gold-standard-images/internal/assemble"
	"gold-standard-images/internal/plan"
)

// Assemble moves the artifact folders CI build jobs uploaded into artifacts/, refusing any whose SHA256SUM does not verify.
//
// <incoming> holds one folder per job of the plan in <planFile> (the JSON of
// mage plan), named by the job's id, as actions/download-artifact leaves
// them. A folder its job was not planned to write, one arriving twice with
// different content, or one differing from what artifacts/ already holds is
// refused too; the others are placed and every refusal is named.
func (Artifacts) Assemble(ctx context.Context, incoming, planFile string) error {
	p, err := plan.Read(planFile)
	if err != nil {
		return err
	}
	_, err = assemble.Assemble(ctx, repoRoot(), incoming, &p, assemble.Options{Out: os.Stderr})
	return err
}
