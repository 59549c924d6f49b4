package e2e

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/dockerpush"
	"gold-standard-images/internal/provenance"
	"gold-standard-images/internal/release"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sign"
	"gold-standard-images/internal/sign/cosigntest"
	"gold-standard-images/internal/sign/pgpkey"
	"gold-standard-images/internal/tree"
	"gold-standard-images/test/fixture"
)

// siteKeys makes the site's signing keys (as mage release:keys does) in a
// folder of their own and returns it, the variables that name them for
// the builds, and the keys.
func siteKeys(t *testing.T) (string, map[string]string, sign.Keys) {
	t.Helper()
	dir := t.TempDir()
	s := sign.Settings{GPGKey: filepath.Join(dir, "release.asc"), CosignKey: filepath.Join(dir, "cosign.key"), CosignPassword: "e2e password"}
	if _, err := s.Make("", "e2e releases", pgpkey.RSA3072); err != nil {
		t.Fatal(err)
	}
	keys, err := s.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return dir, map[string]string{"GPG_SIGNING_KEY": s.GPGKey, "COSIGN_KEY": s.CosignKey, "COSIGN_PASSWORD": s.CosignPassword}, keys
}

// checkSigned checks the signed release as its users would: release:verify
// (one line per artifact), and in the gcp folder gpg --verify and cosign
// verify-blob-attestation.
func checkSigned(ctx context.Context, t *testing.T, repo, root, keyDir string, cfg *config.Config, keys sign.Keys) {
	t.Helper()
	lines, err := release.VerifyPath(ctx, filepath.Join(root, tree.ArtifactsDir, cfg.Site.Version), keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		t.Log(l)
	}
	if err := release.Failed(lines); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, cfg.Tree().ArtifactDir("gcp"))
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		run.Run(context.Background(), run.Cmd{Name: "gpgconf", Args: []string{"--homedir", home, "--kill", "all"}, Timeout: time.Minute})
		os.RemoveAll(home)
	}()
	gpg := func(args ...string) string {
		var out bytes.Buffer
		if err := run.Run(ctx, run.Cmd{Name: "gpg", Args: append([]string{"--homedir", home, "--batch"}, args...), Output: &out, Timeout: time.Minute}); err != nil {
			t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	gpg("--import", filepath.Join(keyDir, "release.pub.asc"))
	t.Logf("gpg --verify SHA256SUM.asc SHA256SUM: %s", firstLineWith(gpg("--verify", filepath.Join(dir, checksum.SignatureFile), filepath.Join(dir, checksum.FileName)), "Good signature"))
	disk := filepath.Join(root, cfg.Tree().Artifact("gcp", "tar.gz"))
	// cosign reads at most 128 MiB of a blob unless told more (the fixture's
	// tarball is 190 MiB, a real image GBs): README says so too.
	out, err := cosigntest.Run(t, cosigntest.Path(t, repo), []string{"COSIGN_MAX_ATTACHMENT_SIZE=64GiB"}, "verify-blob-attestation", "--key", filepath.Join(keyDir, "cosign.pub"), "--type", "slsaprovenance1",
		"--insecure-ignore-tlog=true", "--signature", provenance.Path(disk), disk)
	if err != nil {
		t.Fatalf("cosign verify-blob-attestation of the gcp tarball: %v\n%s", err, out)
	}
	t.Logf("cosign verify-blob-attestation %s: %s", filepath.Base(disk), strings.TrimSpace(out))
}

func firstLineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return "(no line with " + s + ")"
}

// timeSigning signs the release again from scratch (the provenance and the
// signatures removed first) and logs the time of each part, for the
// comparison with the build's.
func timeSigning(ctx context.Context, t *testing.T, root string, cfg *config.Config, keys sign.Keys) {
	t.Helper()
	var dirs []string
	for _, p := range qemuProviders {
		dir := filepath.Join(root, cfg.Tree().ArtifactDir(p))
		dirs = append(dirs, dir)
		matches, _ := filepath.Glob(filepath.Join(dir, "*"+tree.ProvenanceSuffix))
		for _, m := range append(matches, filepath.Join(dir, checksum.SignatureFile)) {
			os.Remove(m)
		}
	}
	start := time.Now()
	if err := release.WriteProvenance(ctx, dirs, keys, provenance.BuilderID(root), io.Discard); err != nil {
		t.Fatal(err)
	}
	prov := time.Since(start)
	start = time.Now()
	if _, err := checksum.WriteTree(ctx, filepath.Join(root, tree.ArtifactsDir), io.Discard); err != nil {
		t.Fatal(err)
	}
	sums := time.Since(start)
	start = time.Now()
	if err := release.SignChecksums(dirs, keys, io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Logf("signing the release from scratch (%d folders): provenance %s, SHA256SUM (hashing every file again) %s, SHA256SUM.asc %s",
		len(dirs), prov.Round(time.Millisecond), sums.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// pushSigned pushes the docker image with the site's cosign key and checks
// it with cosign verify and verify-attestation, as a user would.
func pushSigned(ctx context.Context, t *testing.T, repo, root, keyDir string, cfg *config.Config, keys sign.Keys) {
	t.Helper()
	registry := startRegistry(t)
	signer := release.ImageSigner(keys, filepath.Join(root, filepath.Dir(dockerpush.Source(cfg))), provenance.BuilderID(root))
	res, err := dockerpush.Publish(ctx, cfg, dockerpush.Settings{Registry: registry, Namespace: cfg.Site.Namespace}, dockerpush.Options{Sign: signer})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("upload:docker: %s", res)
	ref := res.Where + ":" + cfg.Site.Version
	bin := cosigntest.Path(t, repo)
	for _, args := range [][]string{
		{"verify", "--key", filepath.Join(keyDir, "cosign.pub"), "--insecure-ignore-tlog=true", ref},
		{"verify-attestation", "--key", filepath.Join(keyDir, "cosign.pub"), "--type", "slsaprovenance1", "--insecure-ignore-tlog=true", ref},
		{"verify-attestation", "--key", filepath.Join(keyDir, "cosign.pub"), "--type", "spdxjson", "--insecure-ignore-tlog=true", ref},
	} {
		if out, err := cosigntest.Run(t, bin, nil, args...); err != nil {
			t.Errorf("cosign %s: %v\n%s", strings.Join(args[:3], " "), err, out)
		}
	}
}

// snapshotSignatures lists the signature and provenance files of the
// providers built, with their sha256.
func snapshotSignatures(t *testing.T, root string, cfg *config.Config) string {
	t.Helper()
	var b strings.Builder
	for _, p := range qemuProviders {
		dir := filepath.Join(root, cfg.Tree().ArtifactDir(p))
		matches, _ := filepath.Glob(filepath.Join(dir, "*"+tree.ProvenanceSuffix))
		for _, m := range append(matches, filepath.Join(dir, checksum.SignatureFile), filepath.Join(dir, checksum.FileName)) {
			b.WriteString(filepath.Base(m) + " " + fixture.FileSHA256(t, m) + "\n")
		}
	}
	return b.String()
}
