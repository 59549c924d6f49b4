package pgpkey

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// gpg runs the real gpg in the throwaway home, returning its output.
func gpg(t *testing.T, home string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatalf("gpg is needed for this test (apt-get install gnupg): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "gpg", append([]string{"--homedir", home, "--batch", "--no-tty"}, args...)...).CombinedOutput()
	return string(out), err
}

func gpgHome(t *testing.T) string {
	t.Helper()
	home, err := os.MkdirTemp("", "gpg") // short: gpg-agent's socket path is bounded
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	return home
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGpgVerifyAcceptsTheSignatureOfEachKindOfKeyAndRefusesAChangedFile(t *testing.T) {
	for _, alg := range []Algorithm{RSA3072, Ed25519} {
		key, err := Generate("Test Releases", "releases@example.com", alg)
		if err != nil {
			t.Fatal(err)
		}
		data := []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  disk.qcow2\n")
		sig, err := key.Sign(data)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := key.Armored(false)
		if err != nil {
			t.Fatal(err)
		}
		dir, home := t.TempDir(), gpgHome(t)
		if out, err := gpg(t, home, "--import", write(t, dir, "key.asc", pub)); err != nil {
			t.Fatalf("gpg --import: %v\n%s", err, out)
		}
		sum, asc := write(t, dir, "SHA256SUM", data), write(t, dir, "SHA256SUM.asc", sig)
		out, err := gpg(t, home, "--verify", asc, sum)
		if err != nil || !strings.Contains(out, "Good signature") || !strings.Contains(out, key.Fingerprint()) {
			t.Fatalf("gpg --verify of the %v key's signature: %v\n%s", alg, err, out)
		}
		changed := append(bytes.Clone(data), "0000000000000000000000000000000000000000000000000000000000000000  extra\n"...)
		write(t, dir, "SHA256SUM", changed)
		if out, err := gpg(t, home, "--verify", asc, sum); err == nil || !strings.Contains(out, "BAD signature") {
			t.Errorf("gpg --verify accepted a changed SHA256SUM: %v\n%s", err, out)
		}
		if err := key.Verify(changed, sig); err == nil {
			t.Errorf("Verify accepted a changed SHA256SUM")
		}
		if err := key.Verify(data, sig); err != nil {
			t.Errorf("Verify refused the signature gpg accepts: %v", err)
		}
	}
}

func TestAKeyMadeByGpgSignsWhatGpgVerifiesAndItsPublicExportChecks(t *testing.T) {
	home, dir := gpgHome(t), t.TempDir()
	if out, err := gpg(t, home, "--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key", "Site <site@example.com>", "ed25519", "sign", "never"); err != nil {
		t.Fatalf("gpg --quick-gen-key: %v\n%s", err, out)
	}
	secret, err := gpg(t, home, "--armor", "--pinentry-mode", "loopback", "--passphrase", "", "--export-secret-keys")
	if err != nil {
		t.Fatalf("exporting: %v\n%s", err, secret)
	}
	key, err := Parse([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("release\n")
	sig, err := key.Sign(data)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := gpg(t, home, "--verify", write(t, dir, "f.asc", sig), write(t, dir, "f", data)); err != nil {
		t.Fatalf("gpg --verify: %v\n%s", err, out)
	}
	public, _ := gpg(t, home, "--armor", "--export")
	pub, err := Parse([]byte(public))
	if err != nil {
		t.Fatal(err)
	}
	if pub.Private() || pub.Fingerprint() != key.Fingerprint() {
		t.Errorf("the public export reads as private %t, fingerprint %s, want public %s", pub.Private(), pub.Fingerprint(), key.Fingerprint())
	}
	if _, err := pub.Sign(data); err == nil {
		t.Error("a public key signed")
	}
}

func TestAKeyProtectedByAPassphraseIsRefusedWithWhatToDo(t *testing.T) {
	key, err := Generate("Test", "", Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	if err := key.entity.EncryptPrivateKeys([]byte("secret"), &packet.Config{}); err != nil {
		t.Fatal(err)
	}
	armored, err := key.Armored(true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(armored); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("Parse of a protected key: %v, want a refusal naming the passphrase", err)
	}
	if _, err := Parse([]byte("not a key")); err == nil {
		t.Error("Parse accepted garbage")
	}
}
