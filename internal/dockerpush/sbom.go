package dockerpush

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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

// AttachSBOM pushes the SPDX document data (file name fileName) to repo as
// an OCI artifact whose subject is img, and returns the artifact
// manifest's digest. Registries without the referrers API get the
// referrers tag fallback (sha256-<digest>), which go-containerregistry
// keeps up to date. Blobs already there are not uploaded again.
func AttachSBOM(ctx context.Context, img v1.Image, repo, fileName string, data []byte, insecure bool, o Options) (v1.Hash, error) {
	ref, err := name.NewRepository(repo, repoOptions(insecure)...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("attaching the SBOM: repository %q: %w", repo, err)
	}
	opts := o.remoteOptions(ctx, ref.RegistryStr(), insecure)
	subject, err := descriptorOf(img)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("attaching the SBOM to %q: %w", repo, err)
	}
	config := static.NewLayer([]byte("{}"), emptyConfigType)
	doc := static.NewLayer(data, SBOMArtifactType)
	for _, l := range []v1.Layer{config, doc} {
		if err := remote.WriteLayer(ref, l, opts...); err != nil {
			return v1.Hash{}, fmt.Errorf("attaching the SBOM to %q: %w", repo, err)
		}
	}
	cd, err := layerDescriptor(config, nil)
	if err != nil {
		return v1.Hash{}, err
	}
	dd, err := layerDescriptor(doc, map[string]string{annotationTitle: fileName})
	if err != nil {
		return v1.Hash{}, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  SBOMArtifactType,
		Config:        cd,
		Layers:        []v1.Descriptor{dd},
		Subject:       &subject,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Put(ref.Digest(h.String()), rawManifest{raw: raw, mt: types.OCIManifestSchema1}, opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("attaching the SBOM to %q: %w", repo, err)
	}
	return h, nil
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
