// Package pgpkey signs release files with an OpenPGP key as `gpg
// --detach-sign --armor` does, checks such signatures as `gpg --verify`
// does, and makes new keys. It is pure Go (ProtonMail/go-crypto): the
// site's private key is read into memory and never written anywhere, where
// gpg would first import it into a keyring on disk.
package pgpkey

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"

	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// config is how signatures are made: SHA-256, as every gpg since 2.1 takes.
var config = &packet.Config{DefaultHash: crypto.SHA256}

// Key is an OpenPGP key: the whole entity for a private key, only the
// public parts for a public one.
type Key struct {
	entity *openpgp.Entity
}

// Parse reads one armored OpenPGP key, private (gpg --export-secret-keys
// --armor) or public (gpg --export --armor). A private key protected by a
// passphrase is refused: the builds run unattended.
func Parse(data []byte) (*Key, error) {
	list, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading the OpenPGP key: want an armored key (gpg --export-secret-keys --armor): %w", err)
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("reading the OpenPGP key: want exactly one key, got %d", len(list))
	}
	e := list[0]
	if e.PrivateKey != nil && e.PrivateKey.Encrypted {
		return nil, errors.New("reading the OpenPGP key: it is protected by a passphrase; give a key without one, kept mode 0600 (gpg --export-secret-keys --armor after gpg --change-passphrase to an empty one)")
	}
	return &Key{entity: e}, nil
}

// Private reports whether k can sign.
func (k *Key) Private() bool { return k.entity.PrivateKey != nil }

// Fingerprint is the primary key's fingerprint in upper-case hex, as gpg
// prints it.
func (k *Key) Fingerprint() string {
	return strings.ToUpper(fmt.Sprintf("%x", k.entity.PrimaryKey.Fingerprint))
}

// Sign is the armored detached signature of data (SHA256SUM.asc).
func (k *Key) Sign(data []byte) ([]byte, error) {
	if !k.Private() {
		return nil, errors.New("signing: the OpenPGP key is a public key")
	}
	var out bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&out, k.entity, bytes.NewReader(data), config); err != nil {
		return nil, fmt.Errorf("signing with OpenPGP key %s: %w", k.Fingerprint(), err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// Verify checks that sig (armored or binary) is k's detached signature of
// data.
func (k *Key) Verify(data, sig []byte) error {
	ring := openpgp.EntityList{k.entity}
	var err error
	if bytes.Contains(sig, []byte("-----BEGIN PGP SIGNATURE-----")) {
		_, err = openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(data), bytes.NewReader(sig), config)
	} else {
		_, err = openpgp.CheckDetachedSignature(ring, bytes.NewReader(data), bytes.NewReader(sig), config)
	}
	if err != nil {
		return fmt.Errorf("not a valid signature by OpenPGP key %s: %w", k.Fingerprint(), err)
	}
	return nil
}

// Armored is the key armored as gpg exports it: the private key when k
// holds one and private is true, else the public key.
func (k *Key) Armored(private bool) ([]byte, error) {
	var out bytes.Buffer
	kind := openpgp.PublicKeyType
	if private {
		kind = openpgp.PrivateKeyType
	}
	w, err := armor.Encode(&out, kind, nil)
	if err != nil {
		return nil, err
	}
	if private {
		err = k.entity.SerializePrivateWithoutSigning(w, config)
	} else {
		err = k.entity.Serialize(w)
	}
	if err != nil {
		return nil, fmt.Errorf("writing the OpenPGP key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// Algorithm is the kind of key Generate makes.
type Algorithm int

// The kinds of key.
const (
	RSA3072 Algorithm = iota // gpg 2.2's default, read by every gpg in use
	Ed25519                  // smaller and faster; gpg 2.1 and later
)

// Generate makes a new signing key for name and email, valid without
// expiry (rotation is the site's choice, see the README).
func Generate(name, email string, alg Algorithm) (*Key, error) {
	cfg := &packet.Config{DefaultHash: crypto.SHA256, Time: time.Now, Algorithm: packet.PubKeyAlgoRSA, RSABits: 3072}
	if alg == Ed25519 {
		cfg.Algorithm = packet.PubKeyAlgoEdDSA
	}
	e, err := openpgp.NewEntity(name, "release signing", email, cfg)
	if err != nil {
		return nil, fmt.Errorf("making an OpenPGP key: %w", err)
	}
	return &Key{entity: e}, nil
}
