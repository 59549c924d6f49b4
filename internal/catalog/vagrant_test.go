package catalog

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/hashfile"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/tree"
)

// vagrantTimeout bounds one vagrant command on the tests' tiny boxes.
const vagrantTimeout = 2 * time.Minute

// vagrant runs the real vagrant with its own home folder; the test fails
// (never skips) when vagrant is not installed: CI installs it.
func vagrant(t *testing.T, home string, args ...string) string {
	t.Helper()
	out, err := vagrantErr(t, home, args...)
	if err != nil {
		t.Fatalf("vagrant %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// vagrantErr is vagrant returning its failure instead of failing the test.
func vagrantErr(t *testing.T, home string, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("vagrant")
	if err != nil {
		t.Fatalf("this test needs vagrant in PATH (apt-get install vagrant): %v", err)
	}
	var out bytes.Buffer
	err = run.Run(context.Background(), run.Cmd{
		Name: bin, Args: args, Dir: home, Output: &out,
		Env: []string{"VAGRANT_HOME=" + home, "VAGRANT_CHECKPOINT_DISABLE=1", "VAGRANT_NO_COLOR=1"},
		// The boxes are a few KiB: vagrant's start-up is all the time it needs.
		Timeout: vagrantTimeout, Hint: "vagrant stalled (a lock in VAGRANT_HOME, or a plugin reaching for the network)",
	})
	return out.String(), err
}

// vagrantSetup is a fresh artifacts tree and vagrant home for a test with
// the real vagrant: the tree's root, the home, the catalog's path and the
// box's name.
func vagrantSetup(t *testing.T) (root, home, catalogPath, box string) {
	root = filepath.Join(t.TempDir(), "artifacts")
	return root, t.TempDir(), filepath.Join(root, vm+".json"), "gold/" + vm
}

// TestRealVagrantAddsBoxesThroughTheCatalogAndSeesNewVersions adds tiny
// boxes through the written catalogs with the real vagrant (which checks the
// sha256 and that the box's provider matches): virtualbox's through the
// vm_name's catalog, vmware's and openstack's (debug boxes) through their
// own; then adds a version and checks that `vagrant box outdated --global`
// reports it.
func TestRealVagrantAddsBoxesThroughTheCatalogAndSeesNewVersions(t *testing.T) {
	root, home, catalogPath, box := vagrantSetup(t)
	ctx, opts := context.Background(), Options{Namespace: "gold"}

	for _, p := range []string{"virtualbox", "vmware", "openstack"} {
		addBuild(t, root, "1.0.0", p)
	}
	if _, err := Write(ctx, root, opts); err != nil {
		t.Fatal(err)
	}
	adds := []struct{ catalog, box, provider string }{
		{catalogPath, box, "virtualbox"},
		{filepath.Join(root, vm+"-vmware.json"), box + "-vmware", "vmware_desktop"},
		{filepath.Join(root, vm+"-openstack.json"), box + "-openstack", "libvirt"},
	}
	for _, a := range adds {
		out := vagrant(t, home, "box", "add", "--provider", a.provider, a.catalog)
		if !strings.Contains(out, "Successfully added box '"+a.box+"' (v1.0.0) for '"+a.provider+"'") {
			t.Fatalf("vagrant box add --provider %s did not add v1.0.0:\n%s", a.provider, out)
		}
	}
	list := vagrant(t, home, "box", "list")
	for _, a := range adds {
		if !strings.Contains(strings.Join(strings.Fields(list), " "), a.box+" ("+a.provider+", 1.0.0)") {
			t.Errorf("vagrant box list lacks %s for %s:\n%s", a.box, a.provider, list)
		}
	}
	if out := vagrant(t, home, "box", "outdated", "--global"); strings.Contains(out, "outdated!") {
		t.Fatalf("boxes reported outdated before a new version exists:\n%s", out)
	}

	addBuild(t, root, "1.10.0", "virtualbox")
	if _, err := Write(ctx, root, opts); err != nil {
		t.Fatal(err)
	}
	out := vagrant(t, home, "box", "outdated", "--global")
	if want := "'" + box + "' for 'virtualbox' is outdated! Current: 1.0.0. Latest: 1.10.0"; !strings.Contains(out, want) {
		t.Errorf("vagrant box outdated --global does not report the new version; want %q in:\n%s", want, out)
	}
	out = vagrant(t, home, "box", "add", "--provider", "virtualbox", catalogPath)
	if !strings.Contains(out, "(v1.10.0) for 'virtualbox'") {
		t.Errorf("vagrant box add did not add v1.10.0:\n%s", out)
	}
}

// TestRealVagrantTakesAPreReleaseAndSeesItsReleaseAsNewer: a version such
// as 1.0.0-rc1 (tree.IsVersion) makes a folder the catalog lists, the real
// vagrant adds it, and once 1.0.0 is built `vagrant box outdated` names it
// as the latest.
func TestRealVagrantTakesAPreReleaseAndSeesItsReleaseAsNewer(t *testing.T) {
	root, home, catalogPath, box := vagrantSetup(t)
	ctx, opts := context.Background(), Options{Namespace: "gold"}

	addBuild(t, root, "1.0.0-rc1", "virtualbox")
	if _, err := Write(ctx, root, opts); err != nil {
		t.Fatal(err)
	}
	out := vagrant(t, home, "box", "add", "--provider", "virtualbox", catalogPath)
	if !strings.Contains(out, "Successfully added box '"+box+"' (v1.0.0-rc1) for 'virtualbox'") {
		t.Fatalf("vagrant box add did not add v1.0.0-rc1:\n%s", out)
	}
	addBuild(t, root, "1.0.0", "virtualbox")
	if _, err := Write(ctx, root, opts); err != nil {
		t.Fatal(err)
	}
	out = vagrant(t, home, "box", "outdated", "--global")
	if want := "'" + box + "' for 'virtualbox' is outdated! Current: 1.0.0-rc1. Latest: 1.0.0"; !strings.Contains(out, want) {
		t.Errorf("vagrant box outdated --global does not see the release; want %q in:\n%s", want, out)
	}
}

// TestRealVagrantRefusesTheVersionsTheTreeRefuses: the versions that
// tree.IsVersion leaves out of the grammar config accepted before (a "+"
// build label) are the ones Vagrant's catalog cannot parse.
func TestRealVagrantRefusesTheVersionsTheTreeRefuses(t *testing.T) {
	dir := t.TempDir()
	boxPath := filepath.Join(dir, "t.box")
	makeBox(t, boxPath, boxSpec{provider: "virtualbox"})
	sum, err := hashfile.File(context.Background(), boxPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0+b", "1.0.0+build.5", "1.0-alpha_1"} {
		if tree.IsVersion(v) {
			t.Errorf("tree.IsVersion(%q) = true", v)
		}
		c := Catalog{Name: "gold/" + vm, Versions: []Version{{Version: v, Providers: []Provider{{Name: "virtualbox", URL: "file://" + boxPath, ChecksumType: "sha256", Checksum: sum}}}}}
		data, err := Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "catalog.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := vagrantErr(t, t.TempDir(), "box", "add", "--provider", "virtualbox", path)
		if err == nil || !strings.Contains(out, "cannot parse") {
			t.Errorf("vagrant box add of version %q: err = %v, want \"cannot parse\" in:\n%s", v, err, out)
		}
	}
}
