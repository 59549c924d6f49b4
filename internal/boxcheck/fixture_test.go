//go:build linux

package boxcheck

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/catalog"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/convert"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sshkeys"
	"gold-standard-images/internal/tree"
	"gold-standard-images/test/fixture"
)

// fixtureTools are what the real test runs.
var fixtureTools = []string{"vagrant", "libvirtd", "virsh", "virtlogd", "dnsmasq", "qemu-system-x86_64", "qemu-img", "guestfish", "mmdebstrap", "unshare", "ip"}

// requireFixtureTools fails (in CI) or skips the test unless it runs as
// root with every tool and the vagrant-libvirt plugin.
func requireFixtureTools(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range fixtureTools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 && !HostProviders(context.Background()).Has("libvirt") {
		missing = append(missing, "vagrant-libvirt")
	}
	if len(missing) == 0 {
		return
	}
	msg := "booting the fixture box needs " + strings.Join(missing, ", ") + " (scripts/host/install-test-tools.sh installs them)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// builtLikeOpenStack is the fixture guest's base disk as the openstack
// build leaves it: on a qcow2 overlay (the cached base image is never
// written), guestfish adds what the build's Ansible adds that the check
// reads (the image record; no vagrant user: convert's debug box adds it),
// converted to a standalone qcow2 as Packer's qemu builder leaves one. It
// is cached beside the base image (fixture.Derived: a libguestfs
// appliance costs minutes under TCG on a busy machine) and copied to out.
func builtLikeOpenStack(ctx context.Context, t *testing.T, accel kvm.Choice, out string) {
	t.Helper()
	record := []byte("vm_name=" + fixtureVM + "\nversion=1.0.0\nbuild=openstack\n")
	script := fmt.Sprintf("upload record %s\nchmod 0644 %s\n", RecordFile, RecordFile) // run in the record's folder
	made := fixture.Derived(ctx, t, accel, "openstack-record", append(slices.Clip(record), script...), func(base, image string) error {
		dir := t.TempDir()
		overlay := filepath.Join(dir, "overlay.qcow2")
		if err := os.WriteFile(filepath.Join(dir, "record"), record, 0o644); err != nil {
			return err
		}
		steps := []run.Cmd{
			{Name: "qemu-img", Args: []string{"create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay}, Timeout: time.Minute},
			{Name: "guestfish", Args: []string{"-a", overlay, "-i"}, Stdin: strings.NewReader(script), Dir: dir,
				Env: append([]string{"LIBGUESTFS_BACKEND=direct"}, accel.LibguestfsEnv(os.Getenv)...), Timeout: 10 * time.Minute,
				Hint: "libguestfs stuck (KVM that runs no guest: set QEMU_ACCELERATOR=tcg)"},
			{Name: "qemu-img", Args: []string{"convert", "-O", "qcow2", overlay, image}, Timeout: 10 * time.Minute},
		}
		for _, c := range steps {
			if err := run.Run(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err := run.Run(ctx, run.Cmd{Name: "cp", Args: []string{"--sparse=always", made, out}, Timeout: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
}

const fixtureVM = "Debian-12-fixture"

// TestTheFixtureBoxIsAddedThroughTheCatalogBootedCheckedAndDestroyed
// makes the libvirt box of the fixture guest the way artifacts:convert
// makes it for openstack (a debug box: the vagrant user added to a copy of
// the disk), writes its catalog, and runs the whole check with
// the real vagrant and vagrant-libvirt in a network namespace of its own
// (checkInNamespace): libvirt (under TCG where KVM runs no guest) boots it,
// vagrant logs in with the vagrant key, the three checks pass, nothing of
// the guest is left in libvirt and the host's network got no interface.
func TestTheFixtureBoxIsAddedThroughTheCatalogBootedCheckedAndDestroyed(t *testing.T) {
	if brief := os.Getenv(childEnv); brief != "" {
		checkInChild(t, brief)
		return
	}
	requireFixtureTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(context.Background(), d.Add(-2*time.Minute))
	}
	defer cancel()
	accel, err := kvm.Choose(ctx, os.Getenv, "")
	if err != nil {
		t.Fatal(err)
	}
	requireNamespaces(ctx, t)
	t.Logf("accelerator: %s (%s)", accel.Accelerator, accel.Line)
	root := t.TempDir()
	keys, err := sshkeys.Ensure(filepath.Join(root, "keys"), "vagrant")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Root: root, Site: config.Site{Namespace: "gold", Version: "1.0.0"}, OS: config.OS{VMName: fixtureVM}}
	packerDir := filepath.Join(root, cfg.Tree().PackerOutput("openstack"))
	if err := os.MkdirAll(packerDir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	builtLikeOpenStack(ctx, t, accel, filepath.Join(packerDir, cfg.Tree().ArtifactName("openstack", "qcow2")))
	t.Logf("image record added: %s", time.Since(start).Round(time.Second))

	selected, err := providers.Select("openstack", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := convert.Run(ctx, cfg, selected, convert.Options{Root: root, DebugBoxes: true}); err != nil {
		t.Fatal(err)
	}
	artifacts := filepath.Join(root, tree.ArtifactsDir)
	if _, err := catalog.Write(ctx, artifacts, catalog.Options{Namespace: "gold"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("box and catalog: %s", time.Since(start).Round(time.Second))

	before := libvirtConfigs(t)
	checkInNamespace(ctx, t, childBrief{
		Catalog: tree.CatalogFile(artifacts, fixtureVM), DebugCatalogs: DebugCatalogs(artifacts, fixtureVM), KeyFile: keys[0].Private,
		Accelerator: accel.Accelerator, Log: filepath.Join(root, "boxcheck.log"),
	}, root)
	if after := libvirtConfigs(t); after != before {
		t.Errorf("libvirt's configuration changed: before %q, after %q", before, after)
	}
}

// checkInChild is the real test's child, in the namespaces the test made:
// it runs the whole check there with its own libvirtd and checks what it
// says, and that the guest's bridge and tap were in the namespace.
func checkInChild(t *testing.T, briefPath string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(context.Background(), d.Add(-2*time.Minute))
	}
	defer cancel()
	brief := enterChild(ctx, t, briefPath)
	log, err := os.Create(brief.Log)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	watch := watchLinks(func(string) bool { return true })
	var out strings.Builder
	results, err := Run(ctx, Options{
		Catalog: brief.Catalog, DebugCatalogs: brief.DebugCatalogs, VMName: fixtureVM, KeyFile: brief.KeyFile,
		Accelerator: brief.Accelerator, Out: &out, Log: log,
	})
	links := watch()
	if werr := os.WriteFile(brief.Links, []byte(strings.Join(links, " ")), 0o644); werr != nil {
		t.Error(werr)
	}
	t.Logf("boxes:check output:\n%s", out.String())
	if err != nil {
		t.Fatalf("Run: %v (vagrant's output: %s)", err, brief.Log)
	}
	requireGuestLinks(t, links)
	if len(results) != 1 || !results[0].OK() || len(results[0].Checks) != len(checks) {
		t.Fatalf("results = %+v", results)
	}
	for _, want := range []string{
		"(libvirt): added through ",
		"(libvirt): up in ",
		"(libvirt): image record /etc/gold-standard-image: ok (vm_name=Debian-12-fixture version=1.0.0 build=openstack)",
		"(libvirt): sshd answers: ok (",
		"(libvirt): sudo works: ok (vagrant runs sudo -n as uid 0)",
		"(libvirt): destroyed (",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// libvirtConfigs lists the domains and networks libvirt keeps defined.
func libvirtConfigs(t *testing.T) string {
	var names []string
	for _, dir := range []string{"/etc/libvirt/qemu", "/etc/libvirt/qemu/networks"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".xml") {
				names = append(names, filepath.Join(dir, e.Name()))
			}
		}
	}
	return strings.Join(names, " ")
}
