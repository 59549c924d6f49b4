//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/release"
	"gold-standard-images/internal/sign"
	"gold-standard-images/internal/sign/pgpkey"
	"gold-standard-images/internal/tree"
)

// Release makes the signing keys and checks signed releases end to end.
type Release mg.Namespace

// Keys makes the release signing keys where the site says they go, never overwriting a key.
//
// GPG_SIGNING_KEY gets a new OpenPGP key (RSA 3072, no passphrase, mode
// 0600) and GPG_PUBLIC_KEY (default: beside it, .pub.asc) its public half;
// COSIGN_KEY gets a new cosign key encrypted with COSIGN_PASSWORD (mode
// 0600) and COSIGN_PUBLIC_KEY (default: beside it, .pub) its public half.
// Each may also be set in templates/site.json ("signing"). If any of the
// files exists, nothing is written. Publish the public halves to the people
// who receive the images (README, "How to verify"). VERSION as for every
// target.
func (Release) Keys() error {
	site, _, err := config.LoadSite(repoRoot(), os.Getenv)
	if err != nil {
		return err
	}
	made, err := sign.SettingsFromEnv(site, os.Getenv).Make(repoRoot(), site.Namespace+" image releases", pgpkey.RSA3072)
	for _, m := range made {
		say("release:keys: wrote %s (private: %t)", m.Path, m.Private)
	}
	return err
}

// Verify checks a release folder or a container image end to end and says in one line per artifact what holds.
//
// A folder (artifacts/, a version, a vm_name or a provider folder): each
// SHA256SUM's signature SHA256SUM.asc (with GPG_SIGNING_KEY or
// GPG_PUBLIC_KEY), every file against SHA256SUM, and each artifact's
// provenance (with COSIGN_KEY and COSIGN_PASSWORD, or COSIGN_PUBLIC_KEY):
// signed by the key, about that file's name and digest. An image reference
// (registry/repository:tag or @sha256:...): its cosign signature (and each
// platform's of an index) and its provenance and SBOM attestations, with
// the cosign key; DOCKER_CONFIG holds registry credentials. VERSION as for
// every target.
func (Release) Verify(ctx context.Context, what string) error {
	keys, _, err := signingKeys(tree.ArtifactsDir)
	if err != nil {
		return err
	}
	lines, err := release.Verify(ctx, what, keys)
	for _, l := range lines {
		fmt.Println(l)
	}
	if err != nil {
		return err
	}
	return release.Failed(lines)
}

// signingKeys loads the site's signing keys (environment over
// templates/site.json) and lists the provider folders under artifacts.
func signingKeys(artifacts string) (sign.Keys, []string, error) {
	site, _, err := config.LoadSite(repoRoot(), os.Getenv)
	if err != nil {
		return sign.Keys{}, nil, err
	}
	keys, err := sign.SettingsFromEnv(site, os.Getenv).Load(repoRoot())
	if err != nil {
		return keys, nil, err
	}
	folders, err := tree.Scan(artifacts)
	var dirs []string
	for _, f := range folders {
		dirs = append(dirs, f.Dir)
	}
	return keys, dirs, err
}
