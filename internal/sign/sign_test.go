package sign

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/sign/pgpkey"
)

const password = "correct horse battery staple"

// made makes a key pair of each kind in a temporary root.
func made(t *testing.T) (string, Settings) {
	t.Helper()
	root := t.TempDir()
	s := Settings{GPGKey: "keys/release.asc", CosignKey: "keys/cosign.key", CosignPassword: password}
	if _, err := s.Make(root, "test releases", pgpkey.Ed25519); err != nil {
		t.Fatal(err)
	}
	return root, s
}

func TestMakeWritesPrivateKeysMode0600BesideTheirPublicHalvesAndNeverOverwrites(t *testing.T) {
	root, s := made(t)
	want := map[string]os.FileMode{"keys/release.asc": 0o600, "keys/release.pub.asc": 0o644, "keys/cosign.key": 0o600, "keys/cosign.pub": 0o644}
	before := map[string][]byte{}
	for name, mode := range want {
		info, err := os.Stat(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != mode {
			t.Errorf("%s has mode %04o, want %04o", name, info.Mode().Perm(), mode)
		}
		before[name], _ = os.ReadFile(filepath.Join(root, name))
	}
	keys, err := s.Load(root)
	if err != nil || keys.PGP == nil || !keys.PGP.Private() || keys.Cosign == nil {
		t.Fatalf("loading the keys made: %+v, %v", keys, err)
	}
	pub, err := Settings{GPGPublicKey: "keys/release.pub.asc", CosignPublicKey: "keys/cosign.pub"}.Load(root)
	if err != nil || pub.PGP.Private() || pub.PGP.Fingerprint() != keys.PGP.Fingerprint() || !pub.CosignPublic.Equal(keys.CosignPublic) || pub.CanSign() {
		t.Fatalf("loading the public halves: %+v, %v", pub, err)
	}

	_, err = s.Make(root, "again", pgpkey.Ed25519)
	if err == nil || !strings.Contains(err.Error(), "exists; it is kept") {
		t.Fatalf("a second Make: %v, want a refusal", err)
	}
	for name, data := range before {
		if now, _ := os.ReadFile(filepath.Join(root, name)); !bytes.Equal(now, data) {
			t.Errorf("%s changed after a refused Make", name)
		}
	}
}

func TestKeysThatCannotBeTrustedOrOpenedAreRefusedNamingTheVariable(t *testing.T) {
	root, s := made(t)
	other, o := made(t)
	cases := []struct {
		name    string
		prepare func(s *Settings)
		want    string
	}{
		{"a private key readable by others", func(s *Settings) { os.Chmod(filepath.Join(root, s.CosignKey), 0o644) }, `COSIGN_KEY "keys/cosign.key": reading the private key`},
		{"a wrong cosign password", func(s *Settings) { s.CosignPassword = "wrong" }, "the password does not open the key (COSIGN_PASSWORD)"},
		{"an OpenPGP public key as the signing key", func(s *Settings) { s.GPGKey = "keys/release.pub.asc"; os.Chmod(filepath.Join(root, s.GPGKey), 0o600) }, "GPG_SIGNING_KEY takes the private key"},
		{"another site's public key", func(s *Settings) { s.CosignPublicKey = filepath.Join(other, o.CosignKey[:len(o.CosignKey)-4]+".pub") }, "is not the public half of COSIGN_KEY"},
		{"a missing key file", func(s *Settings) { s.GPGKey = "keys/none.asc" }, `GPG_SIGNING_KEY "keys/none.asc"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := s
			os.Chmod(filepath.Join(root, s.CosignKey), 0o600)
			c.prepare(&s)
			_, err := s.Load(root)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want an error with %q", err, c.want)
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
}

func TestTheEnvironmentOverridesTheSiteFileFieldByField(t *testing.T) {
	site := config.Defaults()
	site.Signing = config.Signing{GPGKey: "site.asc", CosignKey: "site.key", CosignPassword: "site"}
	env := map[string]string{"COSIGN_KEY": "env.key", "COSIGN_PASSWORD": "env"}
	got := SettingsFromEnv(site, func(k string) string { return env[k] })
	want := Settings{GPGKey: "site.asc", CosignKey: "env.key", CosignPassword: "env"}
	if got != want {
		t.Errorf("SettingsFromEnv = %+v, want %+v", got, want)
	}
}

func TestMakeNeedsAPlaceForTheKeysAndACosignPassword(t *testing.T) {
	for _, s := range []Settings{{}, {CosignKey: "cosign.key"}} {
		if _, err := s.Make(t.TempDir(), "x", pgpkey.Ed25519); err == nil {
			t.Errorf("Make(%+v) made keys", s)
		}
	}
}
