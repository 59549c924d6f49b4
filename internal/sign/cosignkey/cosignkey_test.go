package cosignkey

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gold-standard-images/internal/sign/cosigntest"
)

func TestAKeyRoundTripsThroughItsFilesAndAWrongPasswordIsRefused(t *testing.T) {
	key, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := EncodePrivate(key, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(priv), "-----BEGIN "+PrivateType+"-----") {
		t.Errorf("private key file starts %q", strings.SplitN(string(priv), "\n", 2)[0])
	}
	back, err := ParsePrivate(priv, []byte("pw"))
	if err != nil || !back.Equal(key) {
		t.Fatalf("ParsePrivate: %v", err)
	}
	if _, err := ParsePrivate(priv, []byte("wrong")); !errors.Is(err, ErrPassword) {
		t.Errorf("a wrong password: %v, want ErrPassword", err)
	}
	pubFile, _ := EncodePublic(&key.PublicKey)
	pub, err := ParsePublic(pubFile)
	if err != nil || !pub.Equal(&key.PublicKey) {
		t.Fatalf("ParsePublic: %v", err)
	}
	sig, _ := Sign(key, []byte("msg"))
	again, _ := Sign(key, []byte("msg"))
	if !Verify(pub, []byte("msg"), sig) || Verify(pub, []byte("msg!"), sig) || string(sig) != string(again) {
		t.Error("signatures do not verify, verify a changed message, or differ between two signings of one message")
	}
}

// TestTheRealCosignTakesOurKeysAndWeTakeItsKeys: cosign signs a blob with a
// key we wrote and verifies our signature with our public key file; we open
// a key cosign generated.
func TestTheRealCosignTakesOurKeysAndWeTakeItsKeys(t *testing.T) {
	bin := cosigntest.Path(t, "../../..")
	dir := t.TempDir()
	key, _ := Generate()
	priv, _ := EncodePrivate(key, []byte("our password"))
	pub, _ := EncodePublic(&key.PublicKey)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyPath, pubPath, blob := write("our.key", priv), write("our.pub", pub), write("blob", []byte("release\n"))

	out, err := cosigntest.Run(t, bin, []string{"COSIGN_PASSWORD=our password"}, "sign-blob", "--yes", "--key", keyPath, "--tlog-upload=false", "--use-signing-config=false", "--output-signature", filepath.Join(dir, "cosign.sig"), blob)
	if err != nil {
		t.Fatalf("cosign sign-blob with our key: %v\n%s", err, out)
	}
	b64, _ := os.ReadFile(filepath.Join(dir, "cosign.sig"))
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b64)))
	if err != nil || !Verify(&key.PublicKey, []byte("release\n"), sig) {
		t.Fatalf("cosign's signature with our key does not verify here: %v", err)
	}

	ours, _ := Sign(key, []byte("release\n"))
	sigPath := write("our.sig", []byte(base64.StdEncoding.EncodeToString(ours)))
	if out, err := cosigntest.Run(t, bin, nil, "verify-blob", "--key", pubPath, "--signature", sigPath, "--insecure-ignore-tlog=true", blob); err != nil {
		t.Fatalf("cosign verify-blob of our signature: %v\n%s", err, out)
	}
	write("blob", []byte("changed\n"))
	if out, err := cosigntest.Run(t, bin, nil, "verify-blob", "--key", pubPath, "--signature", sigPath, "--insecure-ignore-tlog=true", blob); err == nil {
		t.Fatalf("cosign verify-blob accepted a changed blob:\n%s", out)
	}

	gen := filepath.Join(dir, "gen")
	os.Mkdir(gen, 0o700)
	cmdOut, err := cosigntest.Run(t, bin, []string{"COSIGN_PASSWORD=theirs"}, "generate-key-pair", "--output-key-prefix", filepath.Join(gen, "cosign"))
	if err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, cmdOut)
	}
	theirs, _ := os.ReadFile(filepath.Join(gen, "cosign.key"))
	k, err := ParsePrivate(theirs, []byte("theirs"))
	if err != nil {
		t.Fatalf("reading cosign's own key: %v", err)
	}
	theirPub, _ := os.ReadFile(filepath.Join(gen, "cosign.pub"))
	if p, err := ParsePublic(theirPub); err != nil || !p.Equal(&k.PublicKey) {
		t.Fatalf("reading cosign's public key: %v", err)
	}
}
