package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/buildrecord"
	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/sign"
	"gold-standard-images/internal/sign/pgpkey"
	"gold-standard-images/internal/tree"
)

// siteKeys makes an OpenPGP and a cosign key pair in a folder of their own
// and returns the folder, the settings naming them and the loaded keys.
func siteKeys(t *testing.T) (string, sign.Settings, sign.Keys) {
	t.Helper()
	dir := t.TempDir()
	s := sign.Settings{GPGKey: "release.asc", CosignKey: "cosign.key", CosignPassword: "test password"}
	if _, err := s.Make(dir, "test releases", pgpkey.Ed25519); err != nil {
		t.Fatal(err)
	}
	keys, err := s.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, s, keys
}

func hexSum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// makeFolder writes a provider folder as a build leaves it before its
// checksums: a disk, a box, the SBOM and manifest.json listing them.
func makeFolder(t *testing.T, root string) string {
	t.Helper()
	dir := filepath.Join(root, tree.ArtifactsDir, "1.0.0", "CentOS-7.9.2009", "openstack")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"CentOS-7.9.2009-1.0.0_openstack.qcow2": bytes.Repeat([]byte("disk"), 1<<16),
		"CentOS-7.9.2009-1.0.0_openstack.box":   bytes.Repeat([]byte("box!"), 1<<15),
		"sbom.spdx.json":                        []byte(`{"spdxVersion":"SPDX-2.3"}` + "\n"),
	}
	rec := buildrecord.Record{Schema: 1, VMName: "CentOS-7.9.2009", Version: "1.0.0", Provider: "openstack",
		OS: []byte(`{"vm_name":"CentOS-7.9.2009"}`), Site: []byte(`{"namespace":"gold"}`),
		ISO:     buildrecord.ISO{Name: "CentOS-7-x86_64-Minimal-2009.iso", SHA256: "07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a", SignatureVerified: true},
		Packer:  buildrecord.Packer{Version: "1.9.4", TemplatesSHA256: hexSum([]byte("t"))},
		Ansible: buildrecord.Ansible{CoreVersion: "2.14.3"},
		Source:  buildrecord.Source{Commit: "0123456789abcdef0123456789abcdef01234567", Dirty: "no"},
		Started: time.Unix(1700000000, 0).UTC(), Finished: time.Unix(1700003600, 0).UTC()}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		rec.Artifacts = append(rec.Artifacts, buildrecord.File{Name: name, Size: int64(len(data)), SHA256: hexSum(data)})
	}
	data, err := buildrecord.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, buildrecord.FileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// signFolder signs the tree dir is in, as artifacts:checksum does (the
// build's checksum step does the same through checksum.WriteArtifacts: the
// e2e test runs that).
func signFolder(t *testing.T, dir string, keys sign.Keys) {
	t.Helper()
	root := filepath.Join(dir, "..", "..", "..")
	if _, err := WriteTree(context.Background(), root, keys, "urn:gold-standard-images:builder:host:test", io.Discard); err != nil {
		t.Fatal(err)
	}
}

func failing(lines []Line) []string {
	var out []string
	for _, l := range lines {
		if !l.OK {
			out = append(out, l.String())
		}
	}
	return out
}

func TestASignedFolderVerifiesWithSha256sumGpgAndReleaseVerifyAndARerunRewritesNothing(t *testing.T) {
	keyDir, _, keys := siteKeys(t)
	dir := makeFolder(t, t.TempDir())
	signFolder(t, dir, keys)

	for _, name := range []string{"CentOS-7.9.2009-1.0.0_openstack.qcow2.intoto.jsonl", "CentOS-7.9.2009-1.0.0_openstack.box.intoto.jsonl", checksum.SignatureFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the signed folder lacks %s: %v", name, err)
		}
	}
	sums, _ := os.ReadFile(filepath.Join(dir, checksum.FileName))
	if !strings.Contains(string(sums), ".qcow2.intoto.jsonl") || strings.Contains(string(sums), checksum.SignatureFile) {
		t.Errorf("SHA256SUM must list the provenance and not its own signature:\n%s", sums)
	}
	if strings.Contains(string(sums), "sbom.spdx.json.intoto") || strings.Contains(string(sums), "manifest.json.intoto") {
		t.Errorf("records got provenance of their own:\n%s", sums)
	}
	cmd := exec.Command("sha256sum", "-c", checksum.FileName)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, out)
	}
	gpgVerify(t, filepath.Join(keyDir, "release.pub.asc"), dir, true)

	lines, err := VerifyPath(context.Background(), filepath.Dir(dir), keys)
	if err != nil {
		t.Fatal(err)
	}
	if bad := failing(lines); len(bad) > 0 || len(lines) != 7 {
		t.Fatalf("release verify: %d line(s), failing %q, want 7 holding (SHA256SUM and its six files):\n%v", len(lines), bad, lines)
	}
	if !strings.Contains(lines[0].String(), "signed by OpenPGP key "+keys.PGP.Fingerprint()) {
		t.Errorf("the SHA256SUM line does not name the key: %s", lines[0])
	}

	before := snapshot(t, dir)
	signFolder(t, dir, keys)
	if after := snapshot(t, dir); after != before {
		t.Errorf("a second signing changed the folder:\n%s\nthen\n%s", before, after)
	}
	if _, current, err := checksum.ReadFolder(dir); err != nil || !current {
		t.Errorf("SHA256SUM is not current after a second signing (%v): the next run would hash every disk again", err)
	}
}

// snapshot lists the folder's files with their sha256.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var b strings.Builder
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		b.WriteString(e.Name() + " " + hexSum(data) + "\n")
	}
	return b.String()
}

// gpgVerify runs the real gpg --verify on dir's SHA256SUM.asc with the
// public key file pub.
func gpgVerify(t *testing.T, pub, dir string, want bool) {
	t.Helper()
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run(); os.RemoveAll(home) }()
	if out, err := exec.Command("gpg", "--homedir", home, "--batch", "--import", pub).CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	out, err := exec.Command("gpg", "--homedir", home, "--batch", "--verify", filepath.Join(dir, checksum.SignatureFile), filepath.Join(dir, checksum.FileName)).CombinedOutput()
	if (err == nil) != want {
		t.Errorf("gpg --verify: %v, want success %t\n%s", err, want, out)
	}
}

func TestATamperedReleaseIsRefusedNamingWhatChanged(t *testing.T) {
	_, _, keys := siteKeys(t)
	_, _, other := siteKeys(t)
	disk := "CentOS-7.9.2009-1.0.0_openstack.qcow2"
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string
	}{
		{"an artifact changed", func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, disk), "x")
		}, "FAIL " + "%DIR%/" + disk + ": checksum differs"},
		{"an artifact and SHA256SUM changed together", func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, disk), "x")
			os.Remove(filepath.Join(dir, checksum.FileName))
			if _, err := checksum.WriteTree(context.Background(), filepath.Join(filepath.Dir(dir), "..", ".."), io.Discard); err != nil {
				t.Fatal(err)
			}
		}, "FAIL %DIR%/SHA256SUM: %DIR%/SHA256SUM.asc: SHA256SUM changed since it was signed"},
		{"the signature replaced by another key's", func(t *testing.T, dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, checksum.FileName))
			sig, _ := other.PGP.Sign(data)
			os.WriteFile(filepath.Join(dir, checksum.SignatureFile), sig, 0o644)
		}, "FAIL %DIR%/SHA256SUM: %DIR%/SHA256SUM.asc: SHA256SUM changed since it was signed, or the signature did"},
		{"the signature removed", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, checksum.SignatureFile))
		}, "SHA256SUM.asc: missing"},
		{"the provenance re-signed by another key", func(t *testing.T, dir string) {
			p := filepath.Join(dir, disk+tree.ProvenanceSuffix)
			os.Remove(p)
			if err := WriteProvenance(context.Background(), []string{dir}, other, "urn:x", io.Discard); err != nil {
				t.Fatal(err)
			}
			os.Remove(filepath.Join(dir, checksum.FileName))
			checksum.WriteTree(context.Background(), filepath.Join(filepath.Dir(dir), "..", ".."), io.Discard)
			SignChecksums([]string{dir}, keys, io.Discard) // the OpenPGP key is the site's: only the provenance is forged
		}, "FAIL %DIR%/" + disk + ": sha256 as SHA256SUM lists; provenance " + disk + ".intoto.jsonl: no signature of the DSSE envelope is the cosign key's"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := makeFolder(t, t.TempDir())
			signFolder(t, dir, keys)
			c.tamper(t, dir)
			lines, err := VerifyPath(context.Background(), dir, keys)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(c.want, "%DIR%", dir)
			bad := failing(lines)
			found := false
			for _, l := range bad {
				found = found || strings.Contains(l, want)
			}
			if !found {
				t.Errorf("no failing line has %q; failing lines:\n%s", want, strings.Join(bad, "\n"))
			}
			if Failed(lines) == nil {
				t.Error("Failed(lines) is nil for a tampered release")
			}
		})
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s)
	f.Close()
}
