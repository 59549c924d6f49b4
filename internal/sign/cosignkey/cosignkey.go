// Package cosignkey reads and writes cosign's key files and signs as
// cosign does with them: an ECDSA P-256 key whose private half is PKCS #8,
// encrypted with a password (scrypt, then NaCl secretbox) in a PEM block
// "ENCRYPTED SIGSTORE PRIVATE KEY" (cosign v1's "ENCRYPTED COSIGN PRIVATE
// KEY" is read too), and whose public half is a PKIX "PUBLIC KEY" PEM
// block. Signatures are ASN.1 ECDSA over the SHA-256 of the message, which
// `cosign verify --key` and `cosign verify-blob --key` check.
package cosignkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// The PEM block types of cosign's key files.
const (
	PrivateType       = "ENCRYPTED SIGSTORE PRIVATE KEY"
	legacyPrivateType = "ENCRYPTED COSIGN PRIVATE KEY"
	PublicType        = "PUBLIC KEY"
)

// encrypted is the JSON inside the private key's PEM block
// (go-securesystemslib's encrypted package, which cosign uses).
type encrypted struct {
	KDF struct {
		Name   string       `json:"name"`
		Params scryptParams `json:"params"`
		Salt   []byte       `json:"salt"`
	} `json:"kdf"`
	Cipher struct {
		Name  string `json:"name"`
		Nonce []byte `json:"nonce"`
	} `json:"cipher"`
	Ciphertext []byte `json:"ciphertext"`
}

type scryptParams struct {
	N int `json:"N"`
	R int `json:"r"`
	P int `json:"p"`
}

// The scrypt parameters cosign accepts (legacy, standard, OWASP); new keys
// get the standard ones, as cosign's.
var (
	acceptedParams = []scryptParams{{32768, 8, 1}, {65536, 8, 1}, {131072, 8, 1}}
	newParams      = scryptParams{65536, 8, 1}
)

// box derives the secretbox key from password with e's scrypt parameters
// and salt, and returns it with e's nonce.
func (e *encrypted) box(password []byte) (*[32]byte, *[24]byte, error) {
	derived, err := scrypt.Key(password, e.KDF.Salt, e.KDF.Params.N, e.KDF.Params.R, e.KDF.Params.P, 32)
	if err != nil {
		return nil, nil, err
	}
	var k [32]byte
	var n [24]byte
	copy(k[:], derived)
	copy(n[:], e.Cipher.Nonce)
	return &k, &n, nil
}

// ErrPassword is returned for a password that does not open the key.
var ErrPassword = errors.New("the password does not open the key (COSIGN_PASSWORD)")

// Generate makes a new P-256 key.
func Generate() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// EncodePrivate is key as cosign's encrypted private key file.
func EncodePrivate(key *ecdsa.PrivateKey, password []byte) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the cosign key: %w", err)
	}
	var e encrypted
	e.KDF.Name, e.KDF.Params, e.KDF.Salt = "scrypt", newParams, make([]byte, 32)
	e.Cipher.Name, e.Cipher.Nonce = "nacl/secretbox", make([]byte, 24)
	if _, err := rand.Read(e.KDF.Salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(e.Cipher.Nonce); err != nil {
		return nil, err
	}
	k, n, err := e.box(password)
	if err != nil {
		return nil, fmt.Errorf("encoding the cosign key: %w", err)
	}
	e.Ciphertext = secretbox.Seal(nil, der, n, k)
	data, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: PrivateType, Bytes: data}), nil
}

// ParsePrivate opens cosign's encrypted private key file with password.
func ParsePrivate(data, password []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || (block.Type != PrivateType && block.Type != legacyPrivateType) {
		return nil, fmt.Errorf("want a PEM block %q (cosign generate-key-pair), got none", PrivateType)
	}
	var e encrypted
	if err := json.Unmarshal(block.Bytes, &e); err != nil {
		return nil, fmt.Errorf("reading the encrypted key: %w", err)
	}
	ok := false
	for _, p := range acceptedParams {
		ok = ok || p == e.KDF.Params
	}
	if e.KDF.Name != "scrypt" || e.Cipher.Name != "nacl/secretbox" || !ok || len(e.Cipher.Nonce) != 24 {
		return nil, fmt.Errorf("reading the encrypted key: want scrypt and nacl/secretbox with cosign's parameters, got %s %+v and %s", e.KDF.Name, e.KDF.Params, e.Cipher.Name)
	}
	k, n, err := e.box(password)
	if err != nil {
		return nil, fmt.Errorf("reading the encrypted key: %w", err)
	}
	der, opened := secretbox.Open(nil, e.Ciphertext, n, k)
	if !opened {
		return nil, ErrPassword
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("reading the decrypted key: %w", err)
	}
	key, isEC := parsed.(*ecdsa.PrivateKey)
	if !isEC || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("reading the decrypted key: want an ECDSA P-256 key (cosign's default), got %T", parsed)
	}
	return key, nil
}

// EncodePublic is pub as a PKIX "PUBLIC KEY" PEM file (cosign.pub).
func EncodePublic(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding the cosign public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PublicType, Bytes: der}), nil
}

// ParsePublic reads a PKIX "PUBLIC KEY" PEM file holding an ECDSA P-256 key.
func ParsePublic(data []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != PublicType {
		return nil, fmt.Errorf("want a PEM block %q (cosign.pub), got none", PublicType)
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("reading the public key: %w", err)
	}
	pub, ok := parsed.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("reading the public key: want an ECDSA P-256 key, got %T", parsed)
	}
	return pub, nil
}

// Sign is the ASN.1 ECDSA signature of the SHA-256 of msg. It is
// deterministic (RFC 6979), so signing the same message again gives the
// same bytes and a re-run rewrites nothing.
func Sign(key *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	sum := sha256.Sum256(msg)
	sig, err := key.Sign(nil, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return sig, nil
}

// Verify reports whether sig is pub's signature of msg.
func Verify(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	sum := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(pub, sum[:], sig)
}
