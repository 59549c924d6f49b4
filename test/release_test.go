package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/sign"
)

// TestReleaseKeysMakesKeysOnceAndReleaseVerifySaysALinePerArtifact runs
// the two targets as a site engineer does: keys where the environment
// says, then a check of a signed folder before and after a file changed.
func TestReleaseKeysMakesKeysOnceAndReleaseVerifySaysALinePerArtifact(t *testing.T) {
	keyDir := t.TempDir()
	env := []string{
		"GPG_SIGNING_KEY=" + filepath.Join(keyDir, "release.asc"),
		"COSIGN_KEY=" + filepath.Join(keyDir, "cosign.key"),
		"COSIGN_PASSWORD=test password",
	}
	if _, stderr, err := mage(t, repoRoot(t), env, "release:keys"); err != nil {
		t.Fatalf("mage release:keys: %v\n%s", err, stderr)
	}
	for name, mode := range map[string]os.FileMode{"release.asc": 0o600, "release.pub.asc": 0o644, "cosign.key": 0o600, "cosign.pub": 0o644} {
		if info, err := os.Stat(filepath.Join(keyDir, name)); err != nil || info.Mode().Perm() != mode {
			t.Errorf("%s: %v, want mode %04o", name, err, mode)
		}
	}
	if _, stderr, err := mage(t, repoRoot(t), env, "release:keys"); err == nil || !strings.Contains(stderr, "exists; it is kept") {
		t.Errorf("a second mage release:keys: %v, want a refusal\n%s", err, stderr)
	}

	// A folder whose SHA256SUM the site signed; checked with the public key.
	dir := filepath.Join(t.TempDir(), "artifacts", "1.0.0", "CentOS-7.9.2009", "gcp")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "disk.tar.gz"), []byte("disk"), 0o644)
	sum := checksum.Format([]checksum.Entry{{Name: "disk.tar.gz", SHA256: "9adbe61c0a85928d12e6d42eb41c5f28e84b024885fa115be30469fb5c43445f"}})
	keys, err := sign.Settings{GPGKey: filepath.Join(keyDir, "release.asc")}.Load("")
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := keys.PGP.Sign(sum)
	os.WriteFile(filepath.Join(dir, checksum.FileName), sum, 0o644)
	os.WriteFile(filepath.Join(dir, checksum.SignatureFile), sig, 0o644)
	pubEnv := []string{"GPG_PUBLIC_KEY=" + filepath.Join(keyDir, "release.pub.asc")}
	stdout, stderr, err := mage(t, repoRoot(t), pubEnv, "release:verify", filepath.Dir(dir))
	if err == nil || !strings.Contains(stdout, "ok   "+filepath.Join(dir, checksum.FileName)+": signed by OpenPGP key "+keys.PGP.Fingerprint()) ||
		!strings.Contains(stdout, "FAIL "+filepath.Join(dir, "disk.tar.gz")+": checksum differs") {
		t.Errorf("mage release:verify of a folder whose disk does not match: %v, want SHA256SUM's signature held and the disk named\n%s\n%s", err, stdout, stderr)
	}
	os.WriteFile(filepath.Join(dir, "disk.tar.gz"), []byte("the disk"), 0o644) // now matching the listed sha256
	if stdout, stderr, err := mage(t, repoRoot(t), pubEnv, "release:verify", dir); err != nil || strings.Count(stdout, "\n") != 2 {
		t.Errorf("mage release:verify of a good folder: %v, want two lines\n%s\n%s", err, stdout, stderr)
	}
}
