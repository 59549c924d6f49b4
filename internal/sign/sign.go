package sign

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/sign/cosignkey"
	"gold-standard-images/internal/sign/pgpkey"
)

// Settings say where the keys are: the environment over templates/site.json
// ("signing"). Paths are relative to the repository root unless absolute.
type Settings struct {
	GPGKey          string // GPG_SIGNING_KEY: armored OpenPGP private key
	GPGPublicKey    string // GPG_PUBLIC_KEY: its public half, for checking only
	CosignKey       string // COSIGN_KEY: cosign's encrypted private key
	CosignPassword  string // COSIGN_PASSWORD: its password (secret)
	CosignPublicKey string // COSIGN_PUBLIC_KEY: cosign.pub, for checking only
}

// SettingsFromEnv reads GPG_SIGNING_KEY, GPG_PUBLIC_KEY, COSIGN_KEY,
// COSIGN_PASSWORD and COSIGN_PUBLIC_KEY over the site's "signing" section.
func SettingsFromEnv(site config.Site, getenv func(string) string) Settings {
	s := site.Signing
	return Settings{
		GPGKey:          envvar.GPGSigningKey.Or(getenv, s.GPGKey),
		GPGPublicKey:    envvar.GPGPublicKey.Or(getenv, s.GPGPublicKey),
		CosignKey:       envvar.CosignKey.Or(getenv, s.CosignKey),
		CosignPassword:  envvar.CosignPassword.Or(getenv, s.CosignPassword),
		CosignPublicKey: envvar.CosignPublicKey.Or(getenv, s.CosignPublicKey),
	}
}

// Keys are the loaded keys; a nil field was not configured.
type Keys struct {
	PGP          *pgpkey.Key       // private (signs and checks) or public (checks)
	Cosign       *ecdsa.PrivateKey // signs
	CosignPublic *ecdsa.PublicKey  // checks: the public key given, else Cosign's
}

// None reports whether no key at all is configured.
func (k Keys) None() bool { return k.PGP == nil && k.CosignPublic == nil }

// CanSign reports whether k holds a private key.
func (k Keys) CanSign() bool { return k.Cosign != nil || (k.PGP != nil && k.PGP.Private()) }

// Load reads the keys s names below root. A private key file must be mode
// 0600; a public key given beside a private one must be its public half.
// Every problem is reported at once.
func (s Settings) Load(root string) (Keys, error) {
	var k Keys
	var problems []error
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	if s.GPGKey != "" {
		data, err := ReadPrivate(abs(s.GPGKey), "GPG_SIGNING_KEY")
		if err == nil {
			k.PGP, err = pgpkey.Parse(data)
			if err == nil && !k.PGP.Private() {
				k.PGP, err = nil, errors.New("it is a public key; GPG_SIGNING_KEY takes the private key (GPG_PUBLIC_KEY the public one)")
			}
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("loading GPG_SIGNING_KEY %q: %w", s.GPGKey, err))
		}
	}
	if s.GPGPublicKey != "" {
		pub, err := readPublic(abs(s.GPGPublicKey), pgpkey.Parse)
		switch {
		case err != nil:
			problems = append(problems, fmt.Errorf("loading GPG_PUBLIC_KEY %q: %w", s.GPGPublicKey, err))
		case k.PGP != nil && k.PGP.Fingerprint() != pub.Fingerprint():
			problems = append(problems, fmt.Errorf("loading GPG_PUBLIC_KEY %q: it is key %s, but GPG_SIGNING_KEY is key %s", s.GPGPublicKey, pub.Fingerprint(), k.PGP.Fingerprint()))
		case k.PGP == nil:
			k.PGP = pub
		}
	}
	if s.CosignKey != "" {
		data, err := ReadPrivate(abs(s.CosignKey), "COSIGN_KEY")
		if err == nil {
			k.Cosign, err = cosignkey.ParsePrivate(data, []byte(s.CosignPassword))
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("loading COSIGN_KEY %q: %w", s.CosignKey, err))
		} else {
			k.CosignPublic = &k.Cosign.PublicKey
		}
	}
	if s.CosignPublicKey != "" {
		pub, err := readPublic(abs(s.CosignPublicKey), cosignkey.ParsePublic)
		switch {
		case err != nil:
			problems = append(problems, fmt.Errorf("loading COSIGN_PUBLIC_KEY %q: %w", s.CosignPublicKey, err))
		case k.CosignPublic != nil && !k.CosignPublic.Equal(pub):
			problems = append(problems, fmt.Errorf("loading COSIGN_PUBLIC_KEY %q: it is not the public half of COSIGN_KEY %q", s.CosignPublicKey, s.CosignKey))
		default:
			k.CosignPublic = pub
		}
	}
	return k, errors.Join(problems...)
}

func readPublic[T any](path string, parse func([]byte) (T, error)) (T, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var zero T
		return zero, err
	}
	return parse(data)
}
