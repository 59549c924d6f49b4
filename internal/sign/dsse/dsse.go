// Package dsse signs and checks DSSE envelopes (github.com/secure-systems-lab/dsse),
// the wrapping in-toto attestations travel in: the signature covers the
// pre-authentication encoding (PAE) of the payload type and the payload,
// made with a cosign key, as `cosign attest` and `cosign
// verify-blob-attestation` do.
package dsse

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"gold-standard-images/internal/sign/cosignkey"
)

// InTotoPayloadType is the payload type of an in-toto statement.
const InTotoPayloadType = "application/vnd.in-toto+json"

// Envelope is a DSSE envelope.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"` // base64
	Signatures  []Signature `json:"signatures"`
}

// Signature is one signature of an envelope.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"` // base64
}

// PAE is the pre-authentication encoding of payloadType and payload, the
// bytes that are signed: "DSSEv1 <len> <type> <len> <payload>".
func PAE(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}

// Sign wraps payload in an envelope signed with key.
func Sign(key *ecdsa.PrivateKey, payloadType string, payload []byte) (Envelope, error) {
	sig, err := cosignkey.Sign(key, PAE(payloadType, payload))
	if err != nil {
		return Envelope{}, err
	}
	return Envelope{
		PayloadType: payloadType,
		Payload:     base64.StdEncoding.EncodeToString(payload),
		Signatures:  []Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}},
	}, nil
}

// Parse reads an envelope from its JSON.
func Parse(data []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return Envelope{}, fmt.Errorf("reading the DSSE envelope: %w", err)
	}
	if e.PayloadType == "" || e.Payload == "" {
		return Envelope{}, errors.New("reading the DSSE envelope: no payloadType or payload")
	}
	return e, nil
}

// Open checks that one of e's signatures is pub's and returns the payload.
func (e Envelope) Open(pub *ecdsa.PublicKey) ([]byte, error) {
	payload, err := base64.StdEncoding.DecodeString(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("reading the DSSE payload: %w", err)
	}
	pae := PAE(e.PayloadType, payload)
	for _, s := range e.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err == nil && cosignkey.Verify(pub, pae, sig) {
			return payload, nil
		}
	}
	return nil, errors.New("no signature of the DSSE envelope is the cosign key's")
}
