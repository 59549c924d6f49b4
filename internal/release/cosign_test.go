package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gold-standard-images/internal/buildrecord"
	"gold-standard-images/internal/dockerpush"
	"gold-standard-images/internal/sbom"
	"gold-standard-images/internal/sign/cosigntest"
	"gold-standard-images/internal/uploadtest"
)

// The standard tools as a user runs them, offline: the site's key is the
// trust, there is no transparency log.
func cosign(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return cosigntest.Run(t, cosigntest.Path(t, "../.."), nil, args...)
}

func TestCosignVerifyBlobAttestationAcceptsTheProvenanceOfTheFileAndNoOther(t *testing.T) {
	keyDir, _, keys := siteKeys(t)
	dir := makeFolder(t, t.TempDir())
	signFolder(t, dir, keys)
	disk := filepath.Join(dir, "CentOS-7.9.2009-1.0.0_openstack.qcow2")
	args := []string{"verify-blob-attestation", "--key", filepath.Join(keyDir, "cosign.pub"), "--type", "slsaprovenance1", "--insecure-ignore-tlog=true", "--signature", disk + ".intoto.jsonl"}
	if out, err := cosign(t, append(args, disk)...); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("cosign verify-blob-attestation: %v\n%s", err, out)
	}
	box := filepath.Join(dir, "CentOS-7.9.2009-1.0.0_openstack.box")
	if out, err := cosign(t, append(args, box)...); err == nil {
		t.Errorf("cosign took the disk's provenance for the box:\n%s", out)
	}
	appendTo(t, disk, "x")
	if out, err := cosign(t, append(args, disk)...); err == nil {
		t.Errorf("cosign took the provenance for a changed disk:\n%s", out)
	}
}

// dockerArtifact writes a small rootfs tarball as the docker artifact of
// cfg with its build record and SBOM, and returns its folder.
func dockerArtifact(t *testing.T, root string, content string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "etc/os-release", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
	tw.Write([]byte(content))
	tw.Close()
	gz.Close()
	dir := filepath.Join(root, "artifacts", "1.0.0", uploadtest.VMName, "docker")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, uploadtest.VMName+"-1.0.0_docker.tar.gz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := buildrecord.Record{Schema: 1, VMName: uploadtest.VMName, Version: "1.0.0", Provider: "docker", OS: []byte(`{}`), Site: []byte(`{}`), Source: buildrecord.Source{Commit: buildrecord.Unknown}}
	data, _ := buildrecord.Marshal(rec)
	os.WriteFile(filepath.Join(dir, buildrecord.FileName), data, 0o644)
	os.WriteFile(filepath.Join(dir, sbom.FileName), []byte(`{"spdxVersion":"SPDX-2.3","name":"test"}`), 0o644)
	uploadtest.Checksum(t, filepath.Join(dir, uploadtest.VMName+"-1.0.0_docker.tar.gz")) // an upload sends only what SHA256SUM lists
	return dir
}

// registries are the two kinds a push meets: Debian's docker-registry
// (distribution 2.8, no referrers API: referrers go in the referrers tag
// schema) and go-containerregistry's (with the referrers API).
var registries = []struct {
	name         string
	start        func(t *testing.T) string
	referrersAPI bool
}{
	{"docker-registry", func(t *testing.T) string { return uploadtest.DockerRegistry(t) }, false},
	{"a registry with the referrers API", func(t *testing.T) string {
		srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true)))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}, true},
}

func TestAPushedImageIsSignedAndAttestedAsCosignVerifiesAndAMovedTagIsRefused(t *testing.T) {
	for _, r := range registries {
		t.Run(r.name, func(t *testing.T) { pushSignedImage(t, r.start(t), r.referrersAPI) })
	}
}

func pushSignedImage(t *testing.T, addr string, referrersAPI bool) {
	keyDir, _, keys := siteKeys(t)
	pub := filepath.Join(keyDir, "cosign.pub")
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	cfg := uploadtest.Config(t)
	dir := dockerArtifact(t, cfg.Root, "NAME=CentOS\n")
	settings := dockerpush.Settings{Registry: addr, Namespace: "gold"}
	signer := ImageSigner(keys, dir, "urn:gold-standard-images:builder:host:test")
	ctx := context.Background()
	res, err := dockerpush.Publish(ctx, cfg, settings, dockerpush.Options{Sign: signer})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.String(), "signed, provenance attested, SBOM attested") {
		t.Errorf("upload:docker's line %q does not say it signed and attested", res)
	}
	ref := res.Where + ":1.0.0"
	for _, args := range [][]string{
		{"verify", "--key", pub, "--insecure-ignore-tlog=true", ref},
		{"verify-attestation", "--key", pub, "--type", "slsaprovenance1", "--insecure-ignore-tlog=true", ref},
		{"verify-attestation", "--key", pub, "--type", "spdxjson", "--insecure-ignore-tlog=true", ref},
	} {
		if out, err := cosign(t, args...); err != nil {
			t.Errorf("cosign %s: %v\n%s", strings.Join(args[:3], " "), err, out)
		}
	}
	lines, err := VerifyImage(ctx, ref, keys)
	if err != nil {
		t.Fatal(err)
	}
	if bad := failing(lines); len(bad) > 0 || len(lines) != 3 {
		t.Fatalf("release verify of the image: %v", lines)
	}

	// A second publish adds nothing: still one signature.
	if _, err := dockerpush.Publish(ctx, cfg, settings, dockerpush.Options{Sign: signer}); err != nil {
		t.Fatal(err)
	}
	repo, _ := name.NewRepository(res.Where)
	img, err := remote.Image(repo.Tag("1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	sigImg, err := remote.Image(repo.Tag("sha256-" + d.Hex + ".sig"))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := sigImg.Manifest(); len(m.Layers) != 1 {
		t.Errorf("%d signatures after two publishes, want 1", len(m.Layers))
	}
	// The attestations are referrers of the image too, beside the SBOM:
	// through the referrers API where the registry has one, else in the
	// referrers tag schema (the tag sha256-<hex>).
	idx, err := remote.Referrers(repo.Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	types := map[string]int{}
	for _, m := range im.Manifests {
		// Read from the manifest: go-containerregistry's registry lists
		// the config's media type in the index instead.
		art, err := remote.Image(repo.Digest(m.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		am, _ := art.Manifest()
		types[am.ArtifactType]++
	}
	if types["application/vnd.dsse.envelope.v1+json"] != 2 || types["application/spdx+json"] != 1 || len(im.Manifests) != 3 {
		t.Errorf("referrers of the image by artifact type: %v, want 2 DSSE envelopes and the SBOM", types)
	}
	_, fallbackErr := remote.Index(repo.Tag("sha256-" + d.Hex))
	if hasFallback := fallbackErr == nil; hasFallback == referrersAPI {
		t.Errorf("referrers tag schema used: %t, on a registry with the referrers API: %t", hasFallback, referrersAPI)
	}

	// Someone with a key of their own replaces the attestations.
	_, _, forger := siteKeys(t)
	if _, err := dockerpush.Publish(ctx, cfg, settings, dockerpush.Options{Sign: ImageSigner(forger, dir, "urn:forger")}); err != nil {
		t.Fatal(err)
	}
	lines, err = VerifyImage(ctx, ref, keys)
	if err != nil {
		t.Fatal(err)
	}
	if bad := failing(lines); len(bad) != 2 || !strings.Contains(bad[0], "attestation https://slsa.dev/provenance/v1: no signature of the DSSE envelope is the cosign key's") {
		t.Errorf("release verify of forged attestations: %q, want the two attestations refused", bad)
	}
	if out, err := cosign(t, "verify-attestation", "--key", pub, "--type", "slsaprovenance1", "--insecure-ignore-tlog=true", ref); err == nil {
		t.Errorf("cosign verify-attestation accepted a forged attestation:\n%s", out)
	}

	// Someone with write access to the registry moves the tag to an image
	// of their own, unsigned.
	dockerArtifact(t, cfg.Root, "NAME=Evil\n")
	if _, err := dockerpush.Publish(ctx, cfg, settings, dockerpush.Options{}); err != nil {
		t.Fatal(err)
	}
	lines, err = VerifyImage(ctx, ref, keys)
	if err != nil {
		t.Fatal(err)
	}
	bad := failing(lines)
	if len(bad) != 1 || !strings.Contains(bad[0], ref+" now points to sha256:") || !strings.Contains(bad[0], "has no signature") {
		t.Errorf("release verify of the moved tag: %q, want one line naming the new digest", bad)
	}
	if out, err := cosign(t, "verify", "--key", pub, "--insecure-ignore-tlog=true", ref); err == nil {
		t.Errorf("cosign verify accepted the moved tag:\n%s", out)
	}
}

func TestEachPlatformOfASignedIndexIsSignedAndAnUnsignedPlatformIsNamed(t *testing.T) {
	keyDir, _, keys := siteKeys(t)
	addr := uploadtest.DockerRegistry(t)
	repo, err := name.NewRepository(addr + "/gold/multi")
	if err != nil {
		t.Fatal(err)
	}
	idx, err := random.Index(64, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(repo.Tag("1.0.0"), idx); err != nil {
		t.Fatal(err)
	}
	if err := SignIndex(repo, idx, keys); err != nil {
		t.Fatal(err)
	}
	ref := repo.Tag("1.0.0").String()
	lines, err := VerifyImage(context.Background(), ref, keys)
	if err != nil {
		t.Fatal(err)
	}
	if bad := failing(lines); len(lines) != 5 || len(bad) != 2 || !strings.Contains(bad[0], "attestation") {
		t.Errorf("verify of a signed index without attestations: %v, want the index and both platforms signed, the attestations missing", lines)
	}
	im, _ := idx.IndexManifest()
	for _, r := range []string{ref, repo.Digest(im.Manifests[1].Digest.String()).String()} {
		if out, err := cosign(t, "verify", "--key", filepath.Join(keyDir, "cosign.pub"), "--insecure-ignore-tlog=true", r); err != nil {
			t.Errorf("cosign verify %s: %v\n%s", r, err, out)
		}
	}

	// A platform swapped for an unsigned one: the index is new, and so is
	// the one platform, each named.
	other, _ := random.Image(64, 1)
	d, _ := other.Digest()
	swapped := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	if err := remote.WriteIndex(repo.Tag("1.0.0"), swapped); err != nil {
		t.Fatal(err)
	}
	lines, _ = VerifyImage(context.Background(), ref, keys)
	bad := strings.Join(failing(lines), "\n")
	if !strings.Contains(bad, "@"+d.String()+": "+d.String()+" has no signature") || !strings.Contains(bad, "now points to") {
		t.Errorf("verify of the swapped index:\n%s", bad)
	}
}
