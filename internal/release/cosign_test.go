package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
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
	return dir
}

func TestAPushedImageIsSignedAndAttestedAsCosignVerifiesAndAMovedTagIsRefused(t *testing.T) {
	keyDir, _, keys := siteKeys(t)
	pub := filepath.Join(keyDir, "cosign.pub")
	addr := uploadtest.DockerRegistry(t)
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
