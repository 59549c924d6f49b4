package sbom_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"

	"gold-standard-images/internal/buildrecord"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/releasediff"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sbom"
	"gold-standard-images/test/fixture"
)

// removedPackage is the package the second image lacks: a Perl library
// without maintainer scripts, so that dpkg --purge in the appliance does
// nothing but drop it (libfile-find-rule-perl depends on it, hence
// --force-depends).
const removedPackage = "libnumber-compare-perl"

// TestTheSBOMOfTheFixtureImageListsExactlyWhatItsDpkgDatabaseLists reads
// the fixture guest's disk (a real Debian 12 dpkg database) with Read, and
// compares it with the host's dpkg-query run on a copy of the image's
// /var/lib/dpkg; then with a second image (a qcow2 overlay from which one
// package was purged inside the appliance) it checks that the SPDX
// documents parse and validate with the library's reader and that the
// difference between the two releases names exactly that package.
func TestTheSBOMOfTheFixtureImageListsExactlyWhatItsDpkgDatabaseLists(t *testing.T) {
	requireTools(t, "guestfish", "qemu-img", "dpkg-query")
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Minute)
	defer cancel()
	accel, err := kvm.Choose(ctx, os.Getenv, "")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := fixture.Image(ctx, t, accel)
	tmp := t.TempDir()

	// The second image: an overlay (the cached base is never written),
	// with the dpkg database copied out before and after the purge, in
	// one appliance launch.
	overlay := filepath.Join(tmp, "overlay.qcow2")
	if err := run.Run(ctx, run.Cmd{Name: "qemu-img", Args: []string{"create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay}, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	before, after := filepath.Join(tmp, "before"), filepath.Join(tmp, "after")
	for _, d := range []string{before, after} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	err = run.Run(ctx, run.Cmd{
		Name: "guestfish",
		Args: []string{"--rw", "--format=qcow2", "-a", overlay, "-i",
			"copy-out", "/var/lib/dpkg", before, ":",
			"sh", "dpkg --purge --force-depends " + removedPackage, ":",
			"copy-out", "/var/lib/dpkg", after},
		Env:     append([]string{"LIBGUESTFS_BACKEND=direct"}, accel.LibguestfsEnv(os.Getenv)...),
		Output:  &log,
		Timeout: 15 * time.Minute,
	})
	if err != nil {
		t.Fatalf("making the second image: %v\n%s", err, log.String())
	}

	// The overlay made a disk standing alone (Read refuses a backing file).
	second := filepath.Join(tmp, "second.qcow2")
	if err := run.Run(ctx, run.Cmd{Name: "qemu-img", Args: []string{"convert", "-f", "qcow2", "-O", "qcow2", overlay, second}, Timeout: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}

	// Both images read at once: two appliances, one launch each.
	var invs [2]sbom.Inventory
	var errs [2]error
	var wg sync.WaitGroup
	for i, disk := range []string{base, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			invs[i], errs[i] = sbom.Read(ctx, disk, sbom.Options{Getenv: os.Getenv})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("reading image %d: %v", i, err)
		}
	}

	for i, dpkg := range []string{before, after} {
		want := dpkgQuery(t, filepath.Join(dpkg, "dpkg"))
		got := map[string]string{}
		for _, p := range invs[i].Packages {
			got[p.Name] = p.Version
		}
		if len(want) < 100 {
			t.Fatalf("image %d: dpkg-query lists %d packages; the fixture has more than 100", i, len(want))
		}
		if !reflect.DeepEqual(got, want) {
			for name, v := range want {
				if got[name] != v {
					t.Errorf("image %d: dpkg-query lists %s %s, the SBOM %q", i, name, v, got[name])
				}
			}
			for name, v := range got {
				if _, ok := want[name]; !ok {
					t.Errorf("image %d: the SBOM lists %s %s, dpkg-query does not", i, name, v)
				}
			}
		}
	}
	if invs[0].Format != "deb" || invs[0].Distro != "debian" {
		t.Errorf("package format %q, distro %q; want deb, debian", invs[0].Format, invs[0].Distro)
	}
	if len(invs[0].Kernels) != 1 || !strings.Contains(invs[0].Kernels[0], "amd64") {
		t.Errorf("kernels %q; want the one linux-image of the fixture", invs[0].Kernels)
	}

	// The SPDX documents, read back with the library's reader.
	root := filepath.Join(tmp, "root")
	for i, v := range []string{"1.0.0", "1.0.1"} {
		dir := filepath.Join(root, "artifacts", v, "Debian-fixture", "openstack")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		doc := sbom.Document(sbom.Subject{VMName: "Debian-fixture", Version: v, Provider: "openstack"}, invs[i], time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		data, err := sbom.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		read, err := spdxjson.Read(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("the SPDX reader refuses the document: %v", err)
		}
		if err := sbom.Validate(read); err != nil {
			t.Fatal(err)
		}
		if back := sbom.FromDocument(read); !reflect.DeepEqual(back.Packages, invs[i].Packages) || !reflect.DeepEqual(back.Kernels, invs[i].Kernels) {
			t.Errorf("image %d: the document read back holds %d packages and kernels %q, want %d and %q", i, len(back.Packages), back.Kernels, len(invs[i].Packages), invs[i].Kernels)
		}
		if err := os.WriteFile(filepath.Join(dir, sbom.FileName), data, 0o644); err != nil {
			t.Fatal(err)
		}
		rec, err := buildrecord.Marshal(buildrecord.Record{Schema: 1, VMName: "Debian-fixture", Version: v, Provider: "openstack", Started: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, buildrecord.FileName), rec, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	d, err := releasediff.Compare(filepath.Join(root, "artifacts"), "Debian-fixture", "1.0.0", "1.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Providers) != 1 {
		t.Fatalf("compared %d provider folders, want 1", len(d.Providers))
	}
	p := d.Providers[0]
	if len(p.Removed) != 1 || p.Removed[0].Name != removedPackage || len(p.Added) != 0 || len(p.Changed) != 0 || p.Kernel != nil || len(p.Inputs) != 0 {
		var table bytes.Buffer
		d.WriteTable(&table)
		t.Errorf("the diff should name only %s, removed:\n%s", removedPackage, table.String())
	}
}

// dpkgQuery is what the host's dpkg-query lists as installed in the dpkg
// database admindir: name -> version.
func dpkgQuery(t *testing.T, admindir string) map[string]string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "--admindir="+admindir, "-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\n").Output()
	if err != nil {
		t.Fatalf("dpkg-query --admindir=%s: %v", admindir, err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 3 && strings.HasPrefix(f[0], "ii") {
			m[f[1]] = f[2]
		}
	}
	return m
}

// requireTools fails in CI (CI=true) and skips elsewhere unless every tool
// is on PATH.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("this test needs %s (scripts/host/install-test-tools.sh installs them)", strings.Join(missing, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
