// Package debian builds the shipped Debian 12 definition for real, as
// `mage build:debian12` does (ONLY=openstack: the suite's time is bounded;
// `mage build:debian12` builds them all), and boots what it ships: the
// openstack qcow2 on a larger disk with a NoCloud seed, logged in as
// cloud-init's default user with the seed's key.
package debian

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/buildsteps"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/pipeline"
	"gold-standard-images/internal/sshkeys"
	"gold-standard-images/internal/tree"
	"gold-standard-images/test/guest"
)

const vmName = "Debian-12"

// tools are the programs of the build and the boot check.
var tools = append([]string{"mmdebstrap", "guestfish", "sha256sum"}, guest.GrowTools...)

func TestTheShippedDebian12DefinitionBuildsAndItsOpenStackImageBoots(t *testing.T) {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing(t, tool+" is not installed")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	accel, err := kvm.Choose(ctx, os.Getenv, "")
	if err != nil {
		t.Fatal(err)
	}
	root := debianRoot(t)
	cfg, err := config.Load(root, vmName, os.Getenv, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ONLY": "openstack", "QEMU_ACCELERATOR": accel.Accelerator}

	start := time.Now()
	results := build(ctx, t, cfg, env)
	if len(results) != 1 || results[0].Status != pipeline.OK {
		t.Fatalf("build: %+v, want openstack OK", results)
	}
	t.Logf("build (bootstrap, disk, conversion, SBOM and manifest, SHA256SUM, catalog, inspection): %s", time.Since(start).Round(time.Second))

	dir := filepath.Join(root, cfg.Tree().ArtifactDir("openstack"))
	sum := exec.CommandContext(ctx, "sha256sum", "-c", "SHA256SUM")
	sum.Dir = dir
	if out, err := sum.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c in %s: %v\n%s", dir, err, out)
	}
	sbom, err := os.ReadFile(filepath.Join(dir, "sbom.spdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{`"linux-image-cloud-amd64"`, `"cloud-init"`, `"qemu-guest-agent"`, "pkg:deb/debian/"} {
		if !strings.Contains(string(sbom), pkg) {
			t.Errorf("the SBOM does not list %s", pkg)
		}
	}

	// The artifact boots with each firmware at once: each reads it, none
	// writes it.
	image := filepath.Join(root, cfg.Tree().Artifact("openstack", "qcow2"))
	t.Run("boots", func(t *testing.T) {
		for _, fw := range firmwares(t) {
			t.Run(fw.name, func(t *testing.T) {
				t.Parallel()
				checkBoots(ctx, t, accel.Accelerator, image, fw.name, fw.args)
			})
		}
	})

	start = time.Now()
	if results := build(ctx, t, cfg, env); len(results) != 1 || results[0].Status != pipeline.UpToDate {
		t.Errorf("second build: %+v, want openstack up to date", results)
	}
	t.Logf("second build, nothing changed: %s", time.Since(start).Round(time.Second))
}

// missing fails the test on CI (CI=true), where every tool must be there,
// and skips it elsewhere.
func missing(t *testing.T, what string) {
	t.Helper()
	const hint = " (scripts/host/install-test-tools.sh installs the test tools)"
	if os.Getenv("CI") == "true" {
		t.Fatal(what + hint)
	}
	t.Skip(what + hint)
}

// firmware is a way QEMU boots the image: SeaBIOS, or OVMF for UEFI.
type firmware struct {
	name string
	args []string
}

// ovmf is OVMF's firmware (Debian's package ovmf).
const ovmf = "/usr/share/ovmf/OVMF.fd"

// firmwares are SeaBIOS and OVMF's UEFI.
func firmwares(t *testing.T) []firmware {
	if _, err := os.Stat(ovmf); err != nil {
		missing(t, "OVMF, the UEFI firmware, is not installed")
	}
	return []firmware{{name: "bios"}, {name: "uefi", args: []string{"-bios", ovmf}}}
}

// checkBoots boots image with the firmware's arguments on a larger disk
// with a NoCloud seed, as OpenStack does, and checks what a cloud user
// sees: the root grown, the record of the build, cloud-init done, no
// failed unit, root locked, no vagrant user, the firmware it booted with.
func checkBoots(ctx context.Context, t *testing.T, accel, image, name string, args []string) {
	start := time.Now()
	g, key := guest.CheckRootGrows(ctx, t, "debian-openstack-"+name, accel, image, args...)
	out := g.Run(t, guest.CloudUser, key, "cat /etc/gold-standard-image; cloud-init status --long; echo failed-units-begin; systemctl --failed --no-legend --plain; echo failed-units-end; sudo -n passwd -S root; getent passwd vagrant || echo no-vagrant-user; test -d /sys/firmware/efi && echo booted-uefi || echo booted-bios")
	t.Logf("%s: booted and checked in %s:\n%s", name, time.Since(start).Round(time.Second), out)
	for _, want := range []string{"vm_name=Debian-12", "build=openstack", "status: done", "failed-units-begin\nfailed-units-end", "\nroot L ", "no-vagrant-user", "booted-" + name} {
		if !strings.Contains("\n"+out, want) {
			t.Errorf("%s: the booted image does not say %q; serial console:\n%s", name, want, guest.Tail(g.Serial, 40))
		}
	}
}

// debianRoot makes a repository-like root in a temporary folder: copies of
// the folders a build reads, the shipped definition, a site file with the
// smallest disk, key pairs, and the bootstraps' cache in the user cache
// folder, so that a second run of the suite bootstraps nothing.
func debianRoot(t *testing.T) string {
	t.Helper()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, dir := range []string{"http", "ansible", "scripts", "templates"} {
		if err := os.CopyFS(filepath.Join(root, dir), os.DirFS(filepath.Join(repo, dir))); err != nil {
			t.Fatal(err)
		}
	}
	site := `{"version": "1.0.0", "disk_size": 4096}`
	if err := os.WriteFile(filepath.Join(root, config.SiteFile), []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sshkeys.Ensure(filepath.Join(root, "keys"), "packer", "vagrant"); err != nil {
		t.Fatal(err)
	}
	userCache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(userCache, "gold-standard-images", "debian")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, tree.CacheDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(cache, filepath.Join(root, tree.DebianCache)); err != nil {
		t.Fatal(err)
	}
	return root
}

// build runs the build of cfg as `mage build:debian12` does, with env over
// the process environment.
func build(ctx context.Context, t *testing.T, cfg *config.Config, env map[string]string) []pipeline.Result {
	t.Helper()
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	out := guest.NewLineLogger(t)
	deps, err := buildsteps.Deps(cfg, getenv, out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	results, err := pipeline.Build(ctx, cfg, deps, pipeline.Options{Out: out, Getenv: getenv})
	if err != nil {
		t.Errorf("build: %v", err)
	}
	return results
}
