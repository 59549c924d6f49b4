package catalog

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/golden"
	"gold-standard-images/internal/hashfile"
	"gold-standard-images/internal/tree"
)

const vm = "CentOS-7.9.2009"

// boxSpec says how makeBox builds a box.
type boxSpec struct {
	provider   string // metadata.json's provider; "" leaves metadata.json out
	plain      bool   // an uncompressed tar instead of tar.gz
	notArchive bool   // a file that is not a tar archive at all
}

// makeBox writes a tiny, byte-for-byte reproducible Vagrant box: metadata.json
// and a dummy box.ovf, in a gzip-compressed tar.
func makeBox(t testing.TB, path string, spec boxSpec) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if spec.notArchive {
		if err := os.WriteFile(path, []byte("this is not a box\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	add := func(name, content string) {
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(1700000000, 0), Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if spec.provider != "" {
		add("metadata.json", `{"provider":"`+spec.provider+`"}`+"\n")
	}
	add("box.ovf", "<?xml version=\"1.0\"?>\n<Envelope/>\n")
	add("Vagrantfile", "Vagrant.configure(\"2\") do |config|\nend\n")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := tarBuf.Bytes()
	if !spec.plain {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		data = z.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// addBuild makes one provider folder of the tree: a box for the box
// providers, a disk file for the others.
func addBuild(t testing.TB, root, version, provider string) string {
	t.Helper()
	dir := filepath.Join(root, version, vm, provider)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if v, ok := BoxProviders()[provider]; ok {
		makeBox(t, filepath.Join(dir, BoxName(vm, version, provider)), boxSpec{provider: v})
	}
	disk := filepath.Join(dir, vm+"-"+version+"_"+provider+".img")
	if err := os.WriteFile(disk, []byte("disk of "+provider+" "+version+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// goldenTree is a tree with versions that sort differently as strings and
// as versions, the provider whose box goes into the vm_name's catalog and
// four with debug boxes (catalogs of their own).
func goldenTree(t testing.TB) string {
	root := filepath.Join(t.TempDir(), "artifacts")
	for _, v := range []string{"1.9.0", "1.10.0"} {
		for _, p := range []string{"aws", "openstack", "virtualbox", "vmware"} {
			addBuild(t, root, v, p)
		}
	}
	addBuild(t, root, "1.2", "virtualbox")
	addBuild(t, root, "1.2", "gcp")
	return root
}

func TestWriteMatchesGoldenCatalog(t *testing.T) {
	root := goldenTree(t)
	res, err := Write(context.Background(), root, Options{Namespace: "gold", BaseURL: "https://boxes.example.com/artifacts/"})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	var summary []string
	for _, r := range res {
		summary = append(summary, fmt.Sprintf("%s %s %d %v", r.VMName, filepath.Base(r.Path), r.Boxes, r.Written))
		data, err := os.ReadFile(r.Path)
		if err != nil {
			t.Fatal(err)
		}
		got = append(append(got, "== "+filepath.Base(r.Path)+" ==\n"...), data...)
	}
	want := []string{vm + " " + vm + ".json 3 true", vm + " " + vm + "-aws.json 2 true", vm + " " + vm + "-gcp.json 1 true", vm + " " + vm + "-openstack.json 2 true", vm + " " + vm + "-vmware.json 2 true"}
	if strings.Join(summary, "\n") != strings.Join(want, "\n") {
		t.Fatalf("results:\n%s\nwant:\n%s", strings.Join(summary, "\n"), strings.Join(want, "\n"))
	}
	golden.Check(t, got)
}

// TestDebugBoxesGoIntoACatalogOfTheirOwnSoNoVersionHoldsTwoBoxesOfOneVagrantProvider:
// aws's debug box is a virtualbox box like virtualbox's, azure's, docker's,
// gcp's and openstack's are libvirt boxes; Vagrant could not choose between
// two boxes of one provider in a version, so each debug box folder has its
// own catalog and box name, and the vm_name's catalog keeps virtualbox's,
// the one box made of an image as built.
func TestDebugBoxesGoIntoACatalogOfTheirOwnSoNoVersionHoldsTwoBoxesOfOneVagrantProvider(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	for p := range BoxProviders() {
		addBuild(t, root, "1.0.0", p)
	}
	catalogs, err := Build(context.Background(), root, Options{Namespace: "gold"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, c := range catalogs {
		if len(c.Versions) != 1 {
			t.Fatalf("catalog %s: versions %+v, want 1.0.0 only", c.Name, c.Versions)
		}
		seen := map[string]bool{}
		for _, p := range c.Versions[0].Providers {
			if seen[p.Name] {
				t.Errorf("catalog %s: two %s boxes in version 1.0.0", c.Name, p.Name)
			}
			seen[p.Name] = true
			got[c.Name+" "+c.file+".json"] = append(got[c.Name+" "+c.file+".json"], p.Name+" "+path.Base(p.URL))
		}
	}
	want := map[string][]string{
		"gold/" + vm + " " + vm + ".json":                     {"virtualbox " + vm + "-1.0.0_virtualbox.box"},
		"gold/" + vm + "-aws " + vm + "-aws.json":             {"virtualbox " + vm + "-1.0.0_aws.box"},
		"gold/" + vm + "-azure " + vm + "-azure.json":         {"libvirt " + vm + "-1.0.0_azure.box"},
		"gold/" + vm + "-docker " + vm + "-docker.json":       {"libvirt " + vm + "-1.0.0_docker.box"},
		"gold/" + vm + "-gcp " + vm + "-gcp.json":             {"libvirt " + vm + "-1.0.0_gcp.box"},
		"gold/" + vm + "-openstack " + vm + "-openstack.json": {"libvirt " + vm + "-1.0.0_openstack.box"},
		"gold/" + vm + "-vmware " + vm + "-vmware.json":       {"vmware_desktop " + vm + "-1.0.0_vmware.box"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("catalogs:\n%v\nwant:\n%v", got, want)
	}
	for _, c := range catalogs {
		if strings.HasSuffix(c.Name, "-aws") && !strings.Contains(c.Description, "debug box of the aws build") {
			t.Errorf("the aws debug catalog's description does not say it is a debug box: %q", c.Description)
		}
	}
	for _, folder := range DebugBoxFolders() {
		if CatalogName(vm, folder) != vm+"-"+folder || BoxProviders()[folder] == "" {
			t.Errorf("debug box folder %s: catalog %q, Vagrant provider %q", folder, CatalogName(vm, folder), BoxProviders()[folder])
		}
	}
}

func TestWriteUsesFileURLsByDefault(t *testing.T) {
	root := filepath.Join(t.TempDir(), "my artifacts")
	addBuild(t, root, "1.0.0", "virtualbox")
	if _, err := Write(context.Background(), root, Options{Namespace: "gold"}); err != nil {
		t.Fatal(err)
	}
	c := readCatalog(t, filepath.Join(root, vm+".json"))
	abs, _ := filepath.Abs(root)
	want := "file://" + strings.ReplaceAll(abs, " ", "%20") + "/1.0.0/" + vm + "/virtualbox/" + BoxName(vm, "1.0.0", "virtualbox")
	if got := c.Versions[0].Providers[0].URL; got != want {
		t.Errorf("url %q, want %q", got, want)
	}
}

func TestWriteRerunWithNothingNewLeavesTheFileAsItWas(t *testing.T) {
	root := goldenTree(t)
	ctx := context.Background()
	if _, err := Write(ctx, root, Options{Namespace: "gold"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, vm+".json")
	first, _ := os.ReadFile(path)
	old := time.Unix(1600000000, 0)
	os.Chtimes(path, old, old)
	res, err := Write(ctx, root, Options{Namespace: "gold"})
	if err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	info, _ := os.Stat(path)
	if !bytes.Equal(first, second) || res[0].Written || !info.ModTime().Equal(old) {
		t.Errorf("re-run changed the catalog: written=%v, mtime %v, identical=%v", res[0].Written, info.ModTime(), bytes.Equal(first, second))
	}

	// A new version is picked up, last in version order.
	addBuild(t, root, "1.11.0", "virtualbox")
	if _, err := Write(ctx, root, Options{Namespace: "gold"}); err != nil {
		t.Fatal(err)
	}
	c := readCatalog(t, path)
	var versions []string
	for _, v := range c.Versions {
		versions = append(versions, v.Version)
	}
	if got := strings.Join(versions, " "); got != "1.2 1.9.0 1.10.0 1.11.0" {
		t.Errorf("versions %q, want \"1.2 1.9.0 1.10.0 1.11.0\"", got)
	}
}

func TestWriteTakesTheDigestFromACurrentSHA256SUM(t *testing.T) {
	const planted = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	box := BoxName(vm, "1.0.0", "virtualbox")
	for _, tc := range []struct {
		name    string
		stale   bool // the box changes after SHA256SUM was written
		byHand  bool // ... and not by convert (no record of it, tree.WriteMade)
		wantErr string
	}{
		{name: "current SHA256SUM is used without hashing"},
		{name: "stale SHA256SUM is ignored and the box convert rewrote hashed", stale: true},
		{name: "a box changed since it was checksummed is refused", stale: true, byHand: true, wantErr: "changed since it was checksummed: restore it or rebuild with FORCE=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "artifacts")
			dir := addBuild(t, root, "1.0.0", "virtualbox")
			if _, err := checksum.WriteTree(context.Background(), root, nil); err != nil {
				t.Fatal(err)
			}
			// Plant a digest the box does not have: only a catalog that
			// trusts SHA256SUM can list it.
			sumPath := filepath.Join(dir, checksum.FileName)
			data, _ := os.ReadFile(sumPath)
			entries, err := checksum.Parse(sumPath, data)
			if err != nil {
				t.Fatal(err)
			}
			for i := range entries {
				if entries[i].Name == box {
					entries[i].SHA256 = planted
				}
			}
			info, _ := os.Stat(sumPath)
			os.WriteFile(sumPath, checksum.Format(entries), 0o644)
			os.Chtimes(sumPath, info.ModTime(), info.ModTime())
			if tc.stale {
				time.Sleep(20 * time.Millisecond) // a later status change time than SHA256SUM's
				makeBox(t, filepath.Join(dir, box), boxSpec{provider: "virtualbox", plain: true})
				if !tc.byHand {
					madeByConvert(t, filepath.Join(dir, box))
				}
			}
			_, err = Write(context.Background(), root, Options{Namespace: "gold"})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), filepath.Join(dir, box)) {
					t.Fatalf("error = %v, want one naming the box and saying %q", err, tc.wantErr)
				}
				if _, err := os.Stat(filepath.Join(root, vm+".json")); !os.IsNotExist(err) {
					t.Errorf("a catalog was written (stat: %v)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := readCatalog(t, filepath.Join(root, vm+".json")).Versions[0].Providers[0].Checksum
			real, err := hashfile.File(context.Background(), filepath.Join(dir, box))
			if err != nil {
				t.Fatal(err)
			}
			want := planted
			if tc.stale {
				want = real
			}
			if got != want {
				t.Errorf("checksum %s, want %s", got, want)
			}
		})
	}
}

// madeByConvert records path as convert does when it writes an artifact.
func madeByConvert(t testing.TB, path string) {
	t.Helper()
	sum, err := hashfile.File(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.WriteMade(path, sum); err != nil {
		t.Fatal(err)
	}
}

func TestWriteRejectsBadTreesNamingThePathAndTouchesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, root string) string // returns the path the message must name
	}{
		{"version folder that is not a version", func(t *testing.T, root string) string {
			dir := filepath.Join(root, "latest", vm, "virtualbox")
			os.MkdirAll(dir, 0o755)
			return filepath.Join(root, "latest")
		}},
		{"box without metadata.json", func(t *testing.T, root string) string {
			p := filepath.Join(root, "2.0.0", vm, "virtualbox", BoxName(vm, "2.0.0", "virtualbox"))
			makeBox(t, p, boxSpec{})
			return p
		}},
		{"uncompressed box without metadata.json", func(t *testing.T, root string) string {
			p := filepath.Join(root, "2.0.0", vm, "openstack", BoxName(vm, "2.0.0", "openstack"))
			makeBox(t, p, boxSpec{plain: true})
			return p
		}},
		{"box that is not an archive", func(t *testing.T, root string) string {
			p := filepath.Join(root, "2.0.0", vm, "vmware", BoxName(vm, "2.0.0", "vmware"))
			makeBox(t, p, boxSpec{notArchive: true})
			return p
		}},
		{"box made for another provider", func(t *testing.T, root string) string {
			p := filepath.Join(root, "2.0.0", vm, "vmware", BoxName(vm, "2.0.0", "vmware"))
			makeBox(t, p, boxSpec{provider: "virtualbox"})
			return p
		}},
		{"folder with no artifact", func(t *testing.T, root string) string {
			dir := filepath.Join(root, "2.0.0", vm, "gcp")
			os.MkdirAll(dir, 0o755)
			return dir
		}},
		{"box that is a link to a box outside the tree", func(t *testing.T, root string) string {
			outside := filepath.Join(t.TempDir(), "outside.box")
			makeBox(t, outside, boxSpec{provider: "virtualbox"})
			dir := filepath.Join(root, "2.0.0", vm, "virtualbox")
			os.MkdirAll(dir, 0o755)
			p := filepath.Join(dir, BoxName(vm, "2.0.0", "virtualbox"))
			os.Symlink(outside, p)
			return p
		}},
		{"vm_name folder with a line break", func(t *testing.T, root string) string {
			dir := filepath.Join(root, "1.0.0", "evil\nname", "virtualbox")
			makeBox(t, filepath.Join(dir, BoxName("evil\nname", "1.0.0", "virtualbox")), boxSpec{provider: "virtualbox"})
			return `"evil\nname"`
		}},
		{"box provider folder without its box", func(t *testing.T, root string) string {
			dir := filepath.Join(root, "2.0.0", vm, "virtualbox")
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, vm+"-2.0.0_virtualbox.ova"), []byte("q"), 0o644)
			return dir
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "artifacts")
			addBuild(t, root, "1.0.0", "virtualbox")
			if _, err := Write(context.Background(), root, Options{Namespace: "gold"}); err != nil {
				t.Fatal(err)
			}
			want := tc.spoil(t, root)
			before := snapshot(t, root)
			_, err := Write(context.Background(), root, Options{Namespace: "gold"})
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
			if after := snapshot(t, root); after != before {
				t.Errorf("the tree changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func TestWriteRejectsAnEmptyNamespace(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	addBuild(t, root, "1.0.0", "virtualbox")
	_, err := Write(context.Background(), root, Options{})
	if err == nil || !strings.Contains(err.Error(), "namespace") {
		t.Fatalf("error %v, want one about the namespace", err)
	}
}

// snapshot lists every path below root with its mode, size, time and content.
func snapshot(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b.WriteString(path + " " + info.Mode().String() + " " + info.ModTime().String())
		if info.Mode().IsRegular() {
			data, _ := os.ReadFile(path)
			b.WriteString(" " + checksumOf(data))
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func checksumOf(data []byte) string {
	return fmt.Sprintf("%x", sha256.Sum256(data))
}

func readCatalog(t *testing.T, path string) Catalog {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c Catalog
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func TestWriteRejectsABaseURLThatIsNotAnAbsoluteURL(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	addBuild(t, root, "1.0.0", "virtualbox")
	for _, base := range []string{"boxes.example.com/artifacts", "/srv/boxes", "http://"} {
		_, err := Write(context.Background(), root, Options{Namespace: "gold", BaseURL: base})
		if err == nil || !strings.Contains(err.Error(), base) {
			t.Errorf("base URL %q: error %v, want one naming it", base, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, vm+".json")); !os.IsNotExist(err) {
		t.Errorf("a catalog was written despite the bad base URL (stat: %v)", err)
	}
}

// TestWriteRejectsABaseURLWithUserinfoQueryOrFragment: credentials would be
// published in clear in the catalog, and a query or fragment would end up
// before the box's path; each is an error naming CATALOG_BASE_URL, and the
// error never shows a password.
func TestWriteRejectsABaseURLWithUserinfoQueryOrFragment(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	addBuild(t, root, "1.0.0", "virtualbox")
	for _, tc := range []struct{ base, want string }{
		{"https://user:s3cret-pw@boxes.example.com/artifacts", "user or password"},
		{"https://user@boxes.example.com/artifacts", "user or password"},
		{"https://boxes.example.com/artifacts?token=abc", "query"},
		{"https://boxes.example.com/artifacts?", "query"},
		{"https://boxes.example.com/artifacts#top", "fragment"},
	} {
		_, err := Write(context.Background(), root, Options{Namespace: "gold", BaseURL: tc.base})
		if err == nil || !strings.Contains(err.Error(), "CATALOG_BASE_URL") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("base URL %q: error %v, want one naming CATALOG_BASE_URL and its %s", tc.base, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("base URL %q: the error shows the password: %v", tc.base, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, vm+".json")); !os.IsNotExist(err) {
		t.Errorf("a catalog was written despite the bad base URL (stat: %v)", err)
	}
}

// Debug boxes are made only when asked for: a folder of a provider with a
// debug box that holds none is left out of the catalogs, while a Vagrant
// image's folder without its box is still an error.
func TestAFolderWithoutItsDebugBoxIsLeftOutAndOneWithoutItsBoxIsAnError(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	addBuild(t, root, "1.0.0", "virtualbox")
	gcp := addBuild(t, root, "1.0.0", "gcp")
	if err := os.Remove(filepath.Join(gcp, BoxName(vm, "1.0.0", "gcp"))); err != nil {
		t.Fatal(err)
	}
	res, err := Write(context.Background(), root, Options{Namespace: "gold"})
	if err != nil {
		t.Fatalf("a gcp folder without its debug box: %v", err)
	}
	if len(res) != 1 || filepath.Base(res[0].Path) != vm+".json" {
		t.Fatalf("catalogs %+v, want only %s.json", res, vm)
	}
	if _, err := os.Stat(filepath.Join(root, vm+"-gcp.json")); !os.IsNotExist(err) {
		t.Fatalf("a catalog of a debug box that is not there: %v", err)
	}
	vb := addBuild(t, root, "1.1.0", "virtualbox")
	if err := os.Remove(filepath.Join(vb, BoxName(vm, "1.1.0", "virtualbox"))); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), root, Options{Namespace: "gold"}); err == nil || !strings.Contains(err.Error(), "want the Vagrant box") {
		t.Fatalf("a virtualbox folder without its box: %v; want an error", err)
	}
}
