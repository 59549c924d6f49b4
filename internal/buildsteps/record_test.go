package buildsteps

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/buildrecord"
	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/pipeline"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sbom"
	"gold-standard-images/internal/tree"
	"gold-standard-images/test/fixture"
)

// TestTheRecordStepWritesTheSBOMAndManifestThatSHA256SUMCovers runs the
// wired record step on a real disk (an overlay of the fixture guest's
// image as a provider's Packer output), then the checksum step, and checks
// that sha256sum -c passes over both new files, that no secret of the
// site is in them, and that a second run keeps both and SHA256SUM current.
func TestTheRecordStepWritesTheSBOMAndManifestThatSHA256SUMCovers(t *testing.T) {
	for _, tool := range []string{"guestfish", "qemu-img", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("this test needs %s (scripts/host/install-test-tools.sh installs it)", tool)
			}
			t.Skipf("this test needs %s", tool)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
	defer cancel()
	accel, err := kvm.Choose(ctx, os.Getenv, "")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := fixture.Image(ctx, t, accel)

	const secret = "t0p-secret-root-pw"
	site := config.Defaults()
	site.RootPass = secret
	cfg := &config.Config{Root: t.TempDir(), Site: site, OS: config.OS{VMName: "Debian-12", OSName: "Debian", OSVersion: "12", ISO: "debian-12", ISOChecksum: strings.Repeat("1", 64)}}
	b := cfg.Tree()
	out := filepath.Join(cfg.Root, b.PackerOutput("openstack"))
	dir := filepath.Join(cfg.Root, b.ArtifactDir("openstack"))
	for _, d := range []string{out, dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	disk := filepath.Join(out, b.BaseName("openstack")+".qcow2")
	if err := run.Run(ctx, run.Cmd{Name: "qemu-img", Args: []string{"create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", disk}, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	artifact := b.Artifact("openstack", "qcow2")
	if err := os.WriteFile(filepath.Join(cfg.Root, artifact), []byte("the converted disk"), 0o644); err != nil {
		t.Fatal(err)
	}
	arts := []tree.Artifact{{Provider: "openstack", Kind: tree.Disk, Path: artifact}}

	var log bytes.Buffer
	deps, err := Deps(cfg, os.Getenv, &log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	step := func() {
		t.Helper()
		log.Reset()
		made, err := deps.Record(ctx, pipeline.Facts{PackerVersion: "1.9.4", Started: time.Now()}, arts)
		if err != nil {
			t.Fatalf("record: %v\n%s", err, log.String())
		}
		if len(made) != 2 {
			t.Fatalf("record made %+v, want the SBOM and manifest.json", made)
		}
		if err := deps.Checksum(ctx, append(arts, made...)); err != nil {
			t.Fatal(err)
		}
	}
	step()
	t.Logf("first run:\n%s", log.String())

	sums, err := os.ReadFile(filepath.Join(dir, checksum.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{sbom.FileName, buildrecord.FileName} {
		if !strings.Contains(string(sums), "  "+name+"\n") {
			t.Errorf("SHA256SUM does not cover %s:\n%s", name, sums)
		}
	}
	var check bytes.Buffer
	if err := run.Run(ctx, run.Cmd{Name: "sha256sum", Args: []string{"-c", checksum.FileName}, Dir: dir, Output: &check, Timeout: time.Minute}); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, check.String())
	}
	rec, err := buildrecord.Read(filepath.Join(dir, buildrecord.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, f := range rec.Artifacts {
		listed = append(listed, f.Name)
	}
	if got, want := strings.Join(listed, " "), filepath.Base(artifact)+" "+sbom.FileName; got != want {
		t.Errorf("manifest.json lists %s, want %s", got, want)
	}
	inv, err := sbom.ReadFile(filepath.Join(dir, sbom.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Packages) < 100 || len(inv.Kernels) != 1 {
		t.Errorf("the SBOM lists %d packages and kernels %q", len(inv.Packages), inv.Kernels)
	}
	for _, name := range []string{sbom.FileName, buildrecord.FileName, checksum.FileName} {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("%s holds the root password", name)
		}
	}

	// A second run: nothing to read again, nothing rewritten, SHA256SUM current.
	before, _ := os.Stat(filepath.Join(dir, buildrecord.FileName))
	start := time.Now()
	step()
	if !strings.Contains(log.String(), sbom.FileName+" up to date") || !strings.Contains(log.String(), "kept") {
		t.Errorf("second run did not keep the files:\n%s", log.String())
	}
	after, _ := os.Stat(filepath.Join(dir, buildrecord.FileName))
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("manifest.json was rewritten although only the times changed")
	}
	if _, current, err := checksum.ReadFolder(dir); err != nil || !current {
		t.Errorf("SHA256SUM not current after the second run (%v)", err)
	}
	t.Logf("second run took %s:\n%s", time.Since(start), log.String())
}

func TestDebugBoxesAreAStepOfTheBuildOnlyWhenAskedFor(t *testing.T) {
	cfg := &config.Config{Root: t.TempDir(), Site: config.Site{Namespace: "gold", Version: "1.0.0"}, OS: config.OS{VMName: "CentOS-7.9.2009"}}
	for _, c := range []struct {
		env  string
		want bool
	}{{"", false}, {"0", false}, {"1", true}} {
		getenv := func(k string) string {
			if k == "DEBUG_BOXES" {
				return c.env
			}
			return ""
		}
		deps, err := Deps(cfg, getenv, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got := deps.DebugBoxes != nil; got != c.want {
			t.Errorf("DEBUG_BOXES=%q: debug boxes step %v, want %v", c.env, got, c.want)
		}
	}
	_, err := Deps(cfg, func(k string) string {
		if k == "DEBUG_BOXES" {
			return "yes please"
		}
		return ""
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DEBUG_BOXES") {
		t.Fatalf("a bad DEBUG_BOXES: %v; want an error naming it", err)
	}
}
