package boxcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gold-standard-images/internal/diskcheck/disktest"
)

// TestABoxWhoseDiskRefersToAHostFileIsNeverBooted: a virtualbox box whose
// VMDK names a file of the host as its extent is added (by a stand-in
// vagrant that unpacks it as vagrant box add does) and refused, naming the
// disk and the file, before vagrant up.
func TestABoxWhoseDiskRefersToAHostFileIsNeverBooted(t *testing.T) {
	dir := t.TempDir()
	vmdk := filepath.Join(dir, "box-disk001.vmdk")
	host := disktest.FlatVMDK(t, vmdk)
	disk, err := os.ReadFile(vmdk)
	if err != nil {
		t.Fatal(err)
	}
	box := filepath.Join(dir, "x.box")
	disktest.Tarball(t, box+".gz", disktest.Member{Name: "metadata.json", Data: []byte(`{"provider":"virtualbox"}`)},
		disktest.Member{Name: "box.ovf", Data: []byte("<Envelope/>")}, disktest.Member{Name: "box-disk001.vmdk", Data: disk})
	if err := os.Rename(box+".gz", box); err != nil {
		t.Fatal(err)
	}
	booted := filepath.Join(dir, "booted")
	bin := t.TempDir()
	script := `#!/bin/sh
case "$1" in
box) d="$VAGRANT_HOME/boxes/gold-VAGRANTSLASH-Debian-12-fixture/1.0.0/amd64/virtualbox"; mkdir -p "$d" && tar -xzf '` + box + `' -C "$d" ;;
up) touch '` + booted + `' ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "vagrant"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	key := filepath.Join(dir, "vagrant-key")
	if err := os.WriteFile(key, []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	results, err := Run(context.Background(), Options{Catalog: writeCatalog(t, []string{"1.0.0"}, "virtualbox"), KeyFile: key, WorkDir: t.TempDir(),
		Providers: &Host{Providers: []string{"virtualbox"}, Missing: map[string]string{}}})
	t.Logf("results %+v, error: %v", results, err)
	for _, w := range []string{"box-disk001.vmdk", "extent", host} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not name %q", w)
		}
	}
	if _, err := os.Stat(booted); err == nil {
		t.Error("vagrant up ran on the box")
	}
}
