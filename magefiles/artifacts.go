//go:build mage

package main

import (
	"context"
	"os"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/provenance"
	"gold-standard-images/internal/release"
	"gold-standard-images/internal/releasediff"
	"gold-standard-images/internal/tree"
)

// Checksum writes the SHA256SUM file of every provider folder under artifacts/ (coreutils format: `sha256sum -c SHA256SUM` passes there).
//
// Files are hashed in parallel; a folder whose SHA256SUM is newer than every
// file in it is not hashed again. A badly laid out tree, an empty folder or
// a file changed since it was checksummed (and not rewritten by
// artifacts:convert) is reported and nothing is written. With the site's
// keys it also signs the release: COSIGN_KEY (with COSIGN_PASSWORD) signs
// the provenance written beside each artifact before SHA256SUM, which lists
// it; GPG_SIGNING_KEY signs each SHA256SUM as SHA256SUM.asc. A signature
// that still holds is kept. GPG_PUBLIC_KEY and COSIGN_PUBLIC_KEY, when set,
// must be those keys' public halves. Each may be set in templates/site.json
// ("signing") instead; VERSION as for every target.
func (Artifacts) Checksum(ctx context.Context) error {
	keys, _, err := signingKeys(tree.ArtifactsDir)
	if err != nil {
		return err
	}
	folders, err := release.WriteTree(ctx, tree.ArtifactsDir, keys, provenance.BuilderID(repoRoot()), os.Stderr)
	for _, f := range folders {
		state := "up to date"
		if f.Written {
			state = "written"
		} else if f.Hashed {
			state = "hashed, unchanged"
		}
		say("checksum: %s/%s: %s", f.Dir, checksum.FileName, state)
	}
	return err
}

// Verify hashes every file under artifacts/ again and names each one that does not match its folder's SHA256SUM.
//
// Missing, extra and changed files and folders without SHA256SUM all count
// as mismatches; any mismatch makes the target fail. With an OpenPGP key
// (GPG_SIGNING_KEY or GPG_PUBLIC_KEY), a folder whose SHA256SUM.asc is
// missing or does not hold is a mismatch too (release:verify checks the
// provenance as well). COSIGN_KEY, COSIGN_PASSWORD, COSIGN_PUBLIC_KEY and
// VERSION are read and checked as for artifacts:checksum.
func (Artifacts) Verify(ctx context.Context) error {
	keys, dirs, err := signingKeys(tree.ArtifactsDir)
	if err != nil {
		return err
	}
	ms, err := checksum.VerifyTree(ctx, tree.ArtifactsDir)
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		if err := release.CheckSignature(dir, keys); err != nil {
			ms = append(ms, checksum.Mismatch{Dir: dir, Name: checksum.SignatureFile, Problem: err.Error()})
		}
	}
	say("verify: %d mismatch(es)", len(ms))
	return checksum.MismatchError(ms)
}

// Diff tells what changed between two releases of an image: packages added, removed and changed, the kernel, and the inputs that differ.
//
// It reads the SBOM (sbom.spdx.json) and build record (manifest.json) of
// each provider folder both releases have, e.g. `mage artifacts:diff
// CentOS-7.9.2009 1.0.0 1.1.0`. DIFF_FORMAT=json prints JSON instead of
// the table.
func (Artifacts) Diff(vmName, versionA, versionB string) error {
	return releasediff.Print(os.Stdout, tree.ArtifactsDir, vmName, versionA, versionB, os.Getenv)
}
