// Package ocisig writes and reads cosign's signatures and attestations of
// container images in a registry, in cosign's tag scheme: the signatures of
// the manifest <repo>@sha256:<hex> are the layers of the image tagged
// <repo>:sha256-<hex>.sig (each a simple-signing payload, its signature in
// the layer's annotation dev.cosignproject.cosign/signature), the
// attestations the DSSE envelope layers of <repo>:sha256-<hex>.att.
// `cosign verify --key` and `cosign verify-attestation --key` read them.
package ocisig

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gold-standard-images/internal/sign/cosignkey"
)

// The media types and annotations of cosign's signature images.
const (
	SimpleSigningMediaType  = "application/vnd.dev.cosign.simplesigning.v1+json"
	DSSEMediaType           = "application/vnd.dsse.envelope.v1+json"
	SignatureAnnotation     = "dev.cosignproject.cosign/signature"
	PredicateTypeAnnotation = "predicateType"
	signatureType           = "cosign container image signature"
)

// Payload is cosign's simple-signing payload: what a signature says.
type Payload struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// Tag is the tag of digest's signatures (suffix "sig") or attestations
// ("att") in repo: sha256-<hex>.<suffix>.
func Tag(repo name.Repository, digest v1.Hash, suffix string) name.Tag {
	return repo.Tag(fmt.Sprintf("%s-%s.%s", digest.Algorithm, digest.Hex, suffix))
}

// layer is one layer of a signature image with its descriptor's fields.
type layer struct {
	v1.Layer
	mediaType   types.MediaType
	annotations map[string]string
}

// Sign adds key's signature of the manifest digest in repo to its .sig
// image, unless the same signature is there.
func Sign(repo name.Repository, digest v1.Hash, key *ecdsa.PrivateKey, opts ...remote.Option) error {
	var p Payload
	p.Critical.Identity.DockerReference = repo.String()
	p.Critical.Image.DockerManifestDigest = digest.String()
	p.Critical.Type = signatureType
	payload, err := json.Marshal(p)
	if err != nil {
		return err
	}
	sig, err := cosignkey.Sign(key, payload)
	if err != nil {
		return err
	}
	ann := map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)}
	return add(Tag(repo, digest, "sig"), layer{static.NewLayer(payload, SimpleSigningMediaType), SimpleSigningMediaType, ann},
		func(l layer) bool { return l.annotations[SignatureAnnotation] == ann[SignatureAnnotation] }, opts)
}

// Attest adds the DSSE envelope of an in-toto statement of predicateType
// about digest to its .att image in repo, replacing an attestation of the
// same predicate type.
func Attest(repo name.Repository, digest v1.Hash, predicateType string, envelope []byte, opts ...remote.Option) error {
	ann := map[string]string{SignatureAnnotation: "", PredicateTypeAnnotation: predicateType}
	return add(Tag(repo, digest, "att"), layer{static.NewLayer(bytes.TrimSpace(envelope), DSSEMediaType), DSSEMediaType, ann},
		func(l layer) bool { return l.annotations[PredicateTypeAnnotation] == predicateType }, opts)
}

// add pushes the image at tag with l added and the layers replaced drops
// removed; an image already holding l as it is is left alone.
func add(tag name.Tag, l layer, replaced func(layer) bool, opts []remote.Option) error {
	old, err := read(tag, opts)
	if err != nil {
		return err
	}
	want, err := l.Digest()
	if err != nil {
		return err
	}
	keep := []layer{}
	for _, o := range old {
		d, err := o.Digest()
		if err != nil {
			return err
		}
		if d == want && replaced(o) {
			return nil // already there
		}
		if !replaced(o) {
			keep = append(keep, o)
		}
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, k := range append(keep, l) {
		img, err = mutate.Append(img, mutate.Addendum{Layer: k.Layer, MediaType: k.mediaType, Annotations: k.annotations})
		if err != nil {
			return err
		}
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		return fmt.Errorf("pushing %q: %w", tag.String(), err)
	}
	return nil
}

// read returns the layers of the image at tag; none when there is none.
func read(tag name.Tag, opts []remote.Option) ([]layer, error) {
	img, err := remote.Image(tag, opts...)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", tag.String(), err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", tag.String(), err)
	}
	var out []layer
	for _, d := range m.Layers {
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", tag.String(), err)
		}
		out = append(out, layer{l, d.MediaType, d.Annotations})
	}
	return out, nil
}

func blob(l layer) ([]byte, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 16<<20))
}

// Verify checks that the .sig image of digest in repo holds a signature by
// pub whose payload names digest. The error says what is missing.
func Verify(repo name.Repository, digest v1.Hash, pub *ecdsa.PublicKey, opts ...remote.Option) error {
	tag := Tag(repo, digest, "sig")
	layers, err := read(tag, opts)
	if err != nil {
		return err
	}
	if len(layers) == 0 {
		return fmt.Errorf("%s has no signature (no %s)", digest, tag.TagStr())
	}
	for _, l := range layers {
		if l.mediaType != SimpleSigningMediaType {
			continue
		}
		payload, err := blob(l)
		if err != nil {
			return fmt.Errorf("reading %q: %w", tag.String(), err)
		}
		sig, err := base64.StdEncoding.DecodeString(l.annotations[SignatureAnnotation])
		if err != nil || !cosignkey.Verify(pub, payload, sig) {
			continue
		}
		var p Payload
		if json.Unmarshal(payload, &p) == nil && p.Critical.Image.DockerManifestDigest == digest.String() {
			return nil
		}
	}
	return fmt.Errorf("%s has %d signature(s) in %s, none by the cosign key for this digest", digest, len(layers), tag.TagStr())
}

// Attestations returns the DSSE envelopes of digest's .att image in repo,
// by predicate type (from the layers' annotations; the caller checks them).
func Attestations(repo name.Repository, digest v1.Hash, opts ...remote.Option) (map[string][]byte, error) {
	tag := Tag(repo, digest, "att")
	layers, err := read(tag, opts)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, l := range layers {
		if l.mediaType != DSSEMediaType {
			continue
		}
		data, err := blob(l)
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", tag.String(), err)
		}
		out[l.annotations[PredicateTypeAnnotation]] = data
	}
	return out, nil
}
