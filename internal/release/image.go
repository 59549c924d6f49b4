package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gold-standard-images/internal/buildrecord"
	"gold-standard-images/internal/dockerpush"
	"gold-standard-images/internal/provenance"
	"gold-standard-images/internal/sbom"
	"gold-standard-images/internal/sign"
	"gold-standard-images/internal/sign/dsse"
	"gold-standard-images/internal/sign/ocisig"
	"gold-standard-images/internal/tree"
)

// SPDXPredicateType is the predicate type of an SBOM attestation (cosign
// attest --type spdxjson).
const SPDXPredicateType = "https://spdx.dev/Document"

// ImageSigner returns what upload:docker calls after a push: it signs the
// image with the cosign key and attaches the provenance (made from dir's
// manifest.json, dir being the docker artifact's folder) and the SBOM
// (dir's sbom.spdx.json) as signed attestations, in cosign's tag scheme
// (which cosign verify-attestation reads on every registry) and as OCI
// referrers of the image (attach). Without a cosign key it is nil.
func ImageSigner(keys sign.Keys, dir, builder string) func(ctx context.Context, repo name.Repository, img v1.Image, opts []remote.Option, attach dockerpush.Attach) (string, error) {
	if keys.Cosign == nil {
		return nil
	}
	return func(ctx context.Context, repo name.Repository, img v1.Image, opts []remote.Option, attach dockerpush.Attach) (string, error) {
		digest, err := img.Digest()
		if err != nil {
			return "", err
		}
		if err := ocisig.Sign(repo, digest, keys.Cosign, opts...); err != nil {
			return "", fmt.Errorf("signing %s@%s: %w", repo, digest, err)
		}
		rec, err := buildrecord.Read(filepath.Join(dir, buildrecord.FileName))
		if err != nil {
			return "signed (no " + buildrecord.FileName + " beside the artifact, so no attestations)", nil
		}
		subject := provenance.Resource{Name: repo.String(), Digest: map[string]string{"sha256": digest.Hex}}
		s := provenance.Make(subject.Name, digest.Hex, rec, builder)
		if layers, err := img.Layers(); err == nil {
			for _, l := range layers {
				if d, err := l.Digest(); err == nil {
					s.Predicate.BuildDefinition.ResolvedDependencies = append(s.Predicate.BuildDefinition.ResolvedDependencies,
						provenance.Resource{Name: "layer (the docker artifact)", Digest: map[string]string{"sha256": d.Hex}})
				}
			}
		}
		env, err := provenance.Envelope(keys.Cosign, s)
		if err == nil {
			err = ocisig.Attest(repo, digest, provenance.PredicateType, env, opts...)
		}
		if err == nil {
			err = attach(ocisig.DSSEMediaType, "provenance"+tree.ProvenanceSuffix, env)
		}
		if err != nil {
			return "", fmt.Errorf("attaching the provenance to %s@%s: %w", repo, digest, err)
		}
		what := "signed, provenance attested"
		if doc, err := os.ReadFile(filepath.Join(dir, sbom.FileName)); err == nil {
			env, err := sbomEnvelope(keys, subject, doc)
			if err == nil {
				err = ocisig.Attest(repo, digest, SPDXPredicateType, env, opts...)
			}
			if err == nil {
				err = attach(ocisig.DSSEMediaType, "sbom"+tree.ProvenanceSuffix, env)
			}
			if err != nil {
				return "", fmt.Errorf("attaching the SBOM attestation to %s@%s: %w", repo, digest, err)
			}
			what += ", SBOM attested"
		}
		return what, nil
	}
}

// sbomEnvelope is the SBOM doc as a signed in-toto statement about subject.
func sbomEnvelope(keys sign.Keys, subject provenance.Resource, doc []byte) ([]byte, error) {
	payload, err := json.Marshal(struct {
		Type          string                `json:"_type"`
		Subject       []provenance.Resource `json:"subject"`
		PredicateType string                `json:"predicateType"`
		Predicate     json.RawMessage       `json:"predicate"`
	}{provenance.StatementType, []provenance.Resource{subject}, SPDXPredicateType, json.RawMessage(doc)})
	if err != nil {
		return nil, fmt.Errorf("reading the SBOM: %w", err)
	}
	env, err := dsse.Sign(keys.Cosign, dsse.InTotoPayloadType, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(env)
}

// VerifyImage checks the image ref (a tag or a digest) with keys' cosign
// key: the signature of its manifest (and of each platform's of an index),
// and its provenance and SBOM attestations, signed and about that digest.
func VerifyImage(ctx context.Context, ref string, keys sign.Keys) ([]Line, error) {
	if keys.CosignPublic == nil {
		return nil, errors.New("verifying an image: no cosign key: set COSIGN_KEY or COSIGN_PUBLIC_KEY (or \"signing\" in templates/site.json)")
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("verifying the image %q: %w", ref, err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithUserAgent("gold-standard-images")}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, fmt.Errorf("verifying the image %q: %w", ref, err)
	}
	digests := []v1.Hash{desc.Digest}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		digests = append(digests, digestsOf(im.Manifests)...)
	}
	repo := r.Context()
	var lines []Line
	for i, d := range digests {
		at := repo.String() + "@" + d.String()
		if err := ocisig.Verify(repo, d, keys.CosignPublic, opts...); err != nil {
			what := err.Error()
			if _, byTag := r.(name.Tag); byTag && i == 0 {
				what = fmt.Sprintf("%s now points to %s: %s", r, d, what)
			}
			lines = append(lines, Line{at, false, what})
			continue
		}
		lines = append(lines, Line{at, true, "signed by the cosign key"})
		if i > 0 {
			continue // the attestations are the image's, attached to the top digest
		}
		atts, err := ocisig.Attestations(repo, d, opts...)
		if err != nil {
			return lines, err
		}
		for _, pt := range []string{provenance.PredicateType, SPDXPredicateType} {
			lines = append(lines, checkAttestation(at, pt, atts[pt], d, keys))
		}
	}
	return lines, nil
}

// checkAttestation checks one attestation of the image digest d.
func checkAttestation(at, predicateType string, data []byte, d v1.Hash, keys sign.Keys) Line {
	what := "attestation " + predicateType
	if data == nil {
		return Line{at, false, what + ": missing"}
	}
	env, err := dsse.Parse(data)
	if err != nil {
		return Line{at, false, what + ": " + err.Error()}
	}
	payload, err := env.Open(keys.CosignPublic)
	if err != nil {
		return Line{at, false, what + ": " + err.Error()}
	}
	var s struct {
		Subject       []provenance.Resource `json:"subject"`
		PredicateType string                `json:"predicateType"`
	}
	if err := json.Unmarshal(payload, &s); err != nil || s.PredicateType != predicateType || len(s.Subject) == 0 {
		return Line{at, false, what + ": not an in-toto statement of that type"}
	}
	if got := s.Subject[0].Digest["sha256"]; got != d.Hex {
		return Line{at, false, fmt.Sprintf("%s: about sha256:%s, not this image", what, got)}
	}
	return Line{at, true, what + " signed by the cosign key, about this image"}
}

// SignIndex signs the image index idx pushed to repo and each platform's
// manifest in it with the cosign key, as `cosign sign --recursive` does.
func SignIndex(repo name.Repository, idx v1.ImageIndex, keys sign.Keys, opts ...remote.Option) error {
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, h := range append([]v1.Hash{d}, digestsOf(im.Manifests)...) {
		if err := ocisig.Sign(repo, h, keys.Cosign, opts...); err != nil {
			return fmt.Errorf("signing %s@%s: %w", repo, h, err)
		}
	}
	return nil
}

func digestsOf(ds []v1.Descriptor) []v1.Hash {
	out := make([]v1.Hash, len(ds))
	for i, d := range ds {
		out[i] = d.Digest
	}
	return out
}
