package dockerpush

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The SBOM the image carries (internal/sbom writes it beside the docker
// artifact): its digest as a label of the image config, and the document
// itself as an OCI referrer of the image (an artifact manifest whose
// subject is the image), which `oras discover`, `regctl artifact list` and
// remote.Referrers find.
const (
	LabelSBOMDigest  = "org.gold-standard-images.sbom.digest" // sha256:<hex> of sbom.spdx.json
	SBOMArtifactType = "application/spdx+json"
	emptyConfigType  = "application/vnd.oci.empty.v1+json"
	annotationTitle  = "org.opencontainers.image.title"
)

// rawManifest is a manifest ready to PUT.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// sbomArtifact is the SBOM as an OCI artifact about an image: its two
// blobs (the empty config and the document) and its manifest.
type sbomArtifact struct {
	blobs []v1.Layer
	raw   []byte
	h     v1.Hash
}

// newSBOMArtifact makes the artifact manifest (artifactType
// application/spdx+json, empty config, subject img) of the document data.
func newSBOMArtifact(img v1.Image, fileName string, data []byte) (sbomArtifact, error) {
	return newArtifact(img, SBOMArtifactType, fileName, data)
}

// newArtifact makes the artifact manifest (artifactType, empty config,
// subject img) of the one file data named fileName.
func newArtifact(img v1.Image, artifactType, fileName string, data []byte) (sbomArtifact, error) {
	subject, err := descriptorOf(img)
	if err != nil {
		return sbomArtifact{}, err
	}
	config := static.NewLayer([]byte("{}"), emptyConfigType)
	doc := static.NewLayer(data, types.MediaType(artifactType))
	cd, err := layerDescriptor(config, nil)
	if err != nil {
		return sbomArtifact{}, err
	}
	dd, err := layerDescriptor(doc, map[string]string{annotationTitle: fileName})
	if err != nil {
		return sbomArtifact{}, err
	}
	raw, err := json.Marshal(v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  artifactType,
		Config:        cd,
		Layers:        []v1.Descriptor{dd},
		Subject:       &subject,
	})
	if err != nil {
		return sbomArtifact{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return sbomArtifact{}, err
	}
	return sbomArtifact{blobs: []v1.Layer{config, doc}, raw: raw, h: h}, nil
}

// AttachSBOM pushes the SPDX document data (file name fileName) to repo as
// an OCI artifact whose subject is img, and returns the artifact
// manifest's digest. Registries without the referrers API get the
// referrers tag fallback (sha256-<digest>), which go-containerregistry
// keeps up to date. Blobs already there are not uploaded again.
func AttachSBOM(ctx context.Context, img v1.Image, repo, fileName string, data []byte, insecure bool, o Options) (v1.Hash, error) {
	h, err := attach(ctx, img, repo, SBOMArtifactType, fileName, data, insecure, o)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("attaching the SBOM to %q: %w", repo, err)
	}
	return h, nil
}

// attach pushes the file data (named fileName) to repo as an OCI artifact
// of artifactType whose subject is img, as AttachSBOM does.
func attach(ctx context.Context, img v1.Image, repo, artifactType, fileName string, data []byte, insecure bool, o Options) (v1.Hash, error) {
	ref, err := name.NewRepository(repo, repoOptions(insecure)...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("repository %q: %w", repo, err)
	}
	a, err := newArtifact(img, artifactType, fileName, data)
	if err != nil {
		return v1.Hash{}, err
	}
	opts := o.remoteOptions(ctx, ref.RegistryStr(), insecure)
	for _, l := range a.blobs {
		if err := remote.WriteLayer(ref, l, opts...); err != nil {
			return v1.Hash{}, err
		}
	}
	if err := remote.Put(ref.Digest(a.h.String()), rawManifest{raw: a.raw, mt: types.OCIManifestSchema1}, opts...); err != nil {
		return v1.Hash{}, err
	}
	return a.h, nil
}

// AttachSBOMToLayout adds the SBOM artifact of img to the OCI image layout
// at dir: its blobs, and its manifest in the layout's index (with its
// artifactType, as the OCI image spec lists referrers in a layout). A
// second call with the same document replaces the entry.
func AttachSBOMToLayout(dir string, img v1.Image, fileName string, data []byte) (v1.Hash, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("attaching the SBOM to OCI layout %q: %w", dir, err)
	}
	a, err := newSBOMArtifact(img, fileName, data)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("attaching the SBOM to OCI layout %q: %w", dir, err)
	}
	for _, l := range a.blobs {
		h, err := l.Digest()
		if err != nil {
			return v1.Hash{}, err
		}
		rc, err := l.Compressed()
		if err != nil {
			return v1.Hash{}, err
		}
		if err := p.WriteBlob(h, rc); err != nil {
			return v1.Hash{}, fmt.Errorf("attaching the SBOM to OCI layout %q: %w", dir, err)
		}
	}
	if err := p.WriteBlob(a.h, io.NopCloser(bytes.NewReader(a.raw))); err != nil {
		return v1.Hash{}, fmt.Errorf("attaching the SBOM to OCI layout %q: %w", dir, err)
	}
	desc := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: a.h, Size: int64(len(a.raw)), ArtifactType: SBOMArtifactType}
	if err := p.RemoveDescriptors(match.Digests(a.h)); err != nil {
		return v1.Hash{}, fmt.Errorf("attaching the SBOM to OCI layout %q: %w", dir, err)
	}
	if err := p.AppendDescriptor(desc); err != nil {
		return v1.Hash{}, fmt.Errorf("attaching the SBOM to OCI layout %q: %w", dir, err)
	}
	return a.h, nil
}

func descriptorOf(img v1.Image) (v1.Descriptor, error) {
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	n, err := img.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: n}, nil
}

func layerDescriptor(l v1.Layer, annotations map[string]string) (v1.Descriptor, error) {
	mt, err := l.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	n, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: n, Annotations: annotations}, nil
}
