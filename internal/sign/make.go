package sign

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gold-standard-images/internal/sign/cosignkey"
	"gold-standard-images/internal/sign/pgpkey"
)

// Made is one key file Make wrote.
type Made struct {
	Path    string
	Private bool
}

// PublicPath is where Make puts the public half of a private key at path
// when no public key path is set: cosign.key -> cosign.pub, release.asc ->
// release.pub.asc.
func PublicPath(private string) string {
	ext := filepath.Ext(private)
	base := strings.TrimSuffix(private, ext)
	if ext == ".key" {
		return base + ".pub"
	}
	return base + ".pub" + ext
}

// Make creates the keys s names, refusing (before writing anything) when
// any of the files it would write exists, so that a key is never
// overwritten: an OpenPGP key (alg) at GPGKey with its public half, and a
// cosign key at CosignKey, encrypted with CosignPassword, with its public
// half. name labels the OpenPGP key. Private keys are written mode 0600
// only where s says; each file appears whole or not at all.
func (s Settings) Make(root, name string, alg pgpkey.Algorithm) ([]Made, error) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	if s.GPGKey == "" && s.CosignKey == "" {
		return nil, errors.New("making signing keys: set where they go: GPG_SIGNING_KEY and/or COSIGN_KEY (with COSIGN_PASSWORD), or \"signing\" in templates/site.json")
	}
	if s.CosignKey != "" && s.CosignPassword == "" {
		return nil, errors.New("making signing keys: COSIGN_PASSWORD is empty: the cosign key is always encrypted")
	}
	type file struct {
		path    string
		data    func() ([]byte, error)
		private bool
	}
	var files []file
	if s.GPGKey != "" {
		var key *pgpkey.Key
		gen := func() (*pgpkey.Key, error) {
			var err error
			if key == nil {
				key, err = pgpkey.Generate(name, "", alg)
			}
			return key, err
		}
		pub := s.GPGPublicKey
		if pub == "" {
			pub = PublicPath(s.GPGKey)
		}
		files = append(files,
			file{abs(s.GPGKey), func() ([]byte, error) { k, err := gen(); return armored(k, err, true) }, true},
			file{abs(pub), func() ([]byte, error) { k, err := gen(); return armored(k, err, false) }, false})
	}
	if s.CosignKey != "" {
		key, err := cosignkey.Generate()
		if err != nil {
			return nil, err
		}
		pub := s.CosignPublicKey
		if pub == "" {
			pub = PublicPath(s.CosignKey)
		}
		files = append(files,
			file{abs(s.CosignKey), func() ([]byte, error) { return cosignkey.EncodePrivate(key, []byte(s.CosignPassword)) }, true},
			file{abs(pub), func() ([]byte, error) { return cosignkey.EncodePublic(&key.PublicKey) }, false})
	}
	var problems []error
	for _, f := range files {
		if _, err := os.Lstat(f.path); err == nil {
			problems = append(problems, fmt.Errorf("making signing keys: %q exists; it is kept (remove it to make a new key, see the README on rotation)", f.path))
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	var made []Made
	for _, f := range files {
		data, err := f.data()
		if err == nil {
			err = createNew(f.path, data, f.private)
		}
		if err != nil {
			return made, fmt.Errorf("making signing keys: %q: %w", f.path, err)
		}
		made = append(made, Made{f.path, f.private})
	}
	return made, nil
}

func armored(k *pgpkey.Key, err error, private bool) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return k.Armored(private)
}

// createNew writes data to path, which must not exist, through a hidden
// temporary file (mode 0600 for a private key, else 0644) hard-linked into
// place: the file is whole when it appears, and an existing one is never
// replaced.
func createNew(path string, data []byte, private bool) error {
	mode := os.FileMode(0o644)
	if private {
		mode = 0o600
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}
