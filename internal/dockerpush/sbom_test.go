package dockerpush

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gold-standard-images/internal/sbom"
	"gold-standard-images/internal/uploadtest"
)

func TestThePushedImageCarriesItsSBOMAsAReferrerAndItsDigestAsALabel(t *testing.T) {
	cfg, _ := testConfig(t)
	doc := []byte(`{"spdxVersion":"SPDX-2.3","name":"test"}` + "\n")
	if err := os.WriteFile(filepath.Join(cfg.Root, filepath.Dir(Source(cfg)), sbom.FileName), doc, 0o644); err != nil {
		t.Fatal(err)
	}
	uploadtest.Checksum(t, filepath.Join(cfg.Root, Source(cfg))) // the SBOM is listed too
	regAddr := startDockerRegistry(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	res, err := Publish(context.Background(), cfg, Settings{Registry: regAddr, Namespace: "gold"}, Options{Backoff: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.String(), "SBOM attached as "+res.Where+"@sha256:") {
		t.Errorf("result %q does not name the SBOM's referrer", res)
	}

	img := remoteImage(t, res.Where)
	cf, err := img.ConfigFile()
	must(t, err)
	if want := sha256Of(doc); cf.Config.Labels[LabelSBOMDigest] != want {
		t.Errorf("label %s = %q, want %q", LabelSBOMDigest, cf.Config.Labels[LabelSBOMDigest], want)
	}

	// Found back as a referrer of the image (Debian's docker-registry has
	// no referrers API: the tag fallback answers).
	d, err := img.Digest()
	must(t, err)
	subject, err := name.NewDigest(res.Where + "@" + d.String())
	must(t, err)
	idx, err := remote.Referrers(subject)
	must(t, err)
	im, err := idx.IndexManifest()
	must(t, err)
	if len(im.Manifests) != 1 || im.Manifests[0].ArtifactType != SBOMArtifactType {
		t.Fatalf("referrers %+v, want one %s", im.Manifests, SBOMArtifactType)
	}
	art, err := remote.Image(subject.Context().Digest(im.Manifests[0].Digest.String()))
	must(t, err)
	layers, err := art.Layers()
	must(t, err)
	if len(layers) != 1 {
		t.Fatalf("the SBOM artifact has %d layers, want 1", len(layers))
	}
	rc, err := layers[0].Compressed()
	must(t, err)
	got, err := io.ReadAll(rc)
	rc.Close()
	must(t, err)
	if string(got) != string(doc) {
		t.Errorf("the referrer holds %q, want the SBOM %q", got, doc)
	}

	// A second publish attaches the same artifact: still one referrer.
	if _, err := Publish(context.Background(), cfg, Settings{Registry: regAddr, Namespace: "gold"}, Options{Backoff: fastRetry}); err != nil {
		t.Fatal(err)
	}
	idx, err = remote.Referrers(subject)
	must(t, err)
	if im, _ := idx.IndexManifest(); len(im.Manifests) != 1 {
		t.Errorf("%d referrers after a second publish, want 1", len(im.Manifests))
	}
}

func TestTheOCILayoutListsTheSBOMAsAnArtifactWhoseSubjectIsTheImage(t *testing.T) {
	cfg, _ := testConfig(t)
	doc := []byte(`{"spdxVersion":"SPDX-2.3","name":"layout"}` + "\n")
	if err := os.WriteFile(filepath.Join(cfg.Root, filepath.Dir(Source(cfg)), sbom.FileName), doc, 0o644); err != nil {
		t.Fatal(err)
	}
	uploadtest.Checksum(t, filepath.Join(cfg.Root, Source(cfg))) // the SBOM is listed too
	out := filepath.Join(t.TempDir(), "oci")
	for range 2 { // the second run replaces, not adds
		if _, err := Publish(context.Background(), cfg, Settings{OutDir: out}, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.FromPath(out)
	must(t, err)
	idx, err := p.ImageIndex()
	must(t, err)
	im, err := idx.IndexManifest()
	must(t, err)
	var images, sboms []v1.Descriptor
	for _, d := range im.Manifests {
		if d.ArtifactType == SBOMArtifactType {
			sboms = append(sboms, d)
		} else {
			images = append(images, d)
		}
	}
	if len(sboms) != 1 || len(images) != 2 {
		t.Fatalf("index lists %d SBOMs and %d images, want 1 and 2 (the two tags)", len(sboms), len(images))
	}
	raw, err := p.Bytes(sboms[0].Digest)
	must(t, err)
	var m v1.Manifest
	must(t, json.Unmarshal(raw, &m))
	if m.Subject == nil || m.Subject.Digest != images[0].Digest {
		t.Errorf("the SBOM's subject is %+v, want the image %s", m.Subject, images[0].Digest)
	}
	if len(m.Layers) != 1 {
		t.Fatalf("the SBOM artifact has %d layers", len(m.Layers))
	}
	got, err := p.Bytes(m.Layers[0].Digest)
	must(t, err)
	if string(got) != string(doc) {
		t.Errorf("the layout holds %q, want the SBOM %q", got, doc)
	}
}
