package checksum

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"gold-standard-images/internal/tree"
)

// tool returns the path of a program the test needs; it fails loudly when the
// machine lacks it (CI installs it).
func tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("this test needs %s (coreutils) in PATH: %v", name, err)
	}
	return p
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Ino
}

// writeFolder writes the SHA256SUM of one folder, as WriteTree and
// WriteArtifacts do for each of theirs.
func writeFolder(ctx context.Context, dir string) (Folder, error) {
	folders, err := writeFolders(ctx, []string{dir}, nil)
	if err != nil {
		return Folder{}, err
	}
	return folders[0], nil
}

func TestWriteFolderIsAcceptedByRealSha256sum(t *testing.T) {
	sha256sum := tool(t, "sha256sum")
	dir := filepath.Join(t.TempDir(), "vmware")
	writeFiles(t, dir, map[string]string{
		"CentOS-7.9.2009-1.0.0_vmware.vmx":        "config.version = \"8\"\n",
		"CentOS-7.9.2009-1.0.0_vmware-disk1.vmdk": strings.Repeat("disk", 300000),
		"CentOS-7.9.2009-1.0.0_vmware.box":        "box",
		"logs/packer.log":                         "log",
		"name with spaces.txt":                    "spaces",
		".CentOS-7.9.2009-1.0.0_vmware.ova.tmp-1": "half written",
		".hidden/inside":                          "hidden",
	})
	res, err := writeFolder(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Hashed || !res.Written {
		t.Errorf("first run: Hashed=%v Written=%v, want both true", res.Hashed, res.Written)
	}
	check := exec.Command(sha256sum, "-c", "--strict", FileName)
	check.Dir = dir
	out, err := check.CombinedOutput()
	if err != nil {
		t.Fatalf("sha256sum -c in %s failed: %v\n%s", dir, err, out)
	}
	// Our file must be exactly what sha256sum writes for the same names.
	names := []string{
		"CentOS-7.9.2009-1.0.0_vmware-disk1.vmdk",
		"CentOS-7.9.2009-1.0.0_vmware.box",
		"CentOS-7.9.2009-1.0.0_vmware.vmx",
		"logs/packer.log",
		"name with spaces.txt",
	}
	cmd := exec.Command(sha256sum, names...)
	cmd.Dir = dir
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("SHA256SUM differs from sha256sum's output\ngot:\n%s\nwant:\n%s", got, want)
	}
	var kinds []tree.Kind
	for _, a := range res.Artifacts {
		kinds = append(kinds, a.Kind)
		if a.Provider != "vmware" || a.SHA256 == "" {
			t.Errorf("artifact %+v: want provider vmware and a digest", a)
		}
	}
	wantKinds := []tree.Kind{tree.Disk, tree.Box, tree.Disk, tree.Disk, tree.Disk, tree.Checksum}
	if !reflect.DeepEqual(kinds, wantKinds) {
		t.Errorf("kinds = %v, want %v", kinds, wantKinds)
	}
}

func TestWriteFolderRerunOnUnchangedFolderNeitherHashesNorRewrites(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "gcp")
	writeFiles(t, dir, map[string]string{"a_gcp.tar.gz": "one", "b.txt": "two"})
	if _, err := writeFolder(ctx, dir); err != nil {
		t.Fatal(err)
	}
	sumPath := filepath.Join(dir, FileName)
	before, _ := os.ReadFile(sumPath)
	ino := inode(t, sumPath)

	res, err := writeFolder(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Hashed || res.Written {
		t.Errorf("unchanged folder: Hashed=%v Written=%v, want both false", res.Hashed, res.Written)
	}
	if inode(t, sumPath) != ino {
		t.Error("unchanged folder: SHA256SUM was replaced")
	}

	// Same content written again: hashed (it changed on disk) but the
	// SHA256SUM keeps its content and inode.
	time.Sleep(10 * time.Millisecond)
	writeFiles(t, dir, map[string]string{"a_gcp.tar.gz": "one"})
	res, err = writeFolder(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Hashed || res.Written {
		t.Errorf("rewritten with same bytes: Hashed=%v Written=%v, want true, false", res.Hashed, res.Written)
	}
	if after, _ := os.ReadFile(sumPath); string(after) != string(before) || inode(t, sumPath) != ino {
		t.Error("rewritten with same bytes: SHA256SUM was replaced")
	}

	// New content, written by convert (it records what it writes): hashed
	// and written.
	time.Sleep(10 * time.Millisecond)
	writeFiles(t, dir, map[string]string{"a_gcp.tar.gz": "changed"})
	must(t, tree.WriteMade(filepath.Join(dir, "a_gcp.tar.gz"), sha256Hex([]byte("changed"))))
	res, err = writeFolder(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Hashed || !res.Written {
		t.Errorf("changed file: Hashed=%v Written=%v, want both true", res.Hashed, res.Written)
	}
	if res.Artifacts[0].SHA256 != sha256Hex([]byte("changed")) {
		t.Errorf("changed file: digest %s is not that of the new content", res.Artifacts[0].SHA256)
	}

	// A new file makes the SHA256SUM stale.
	writeFiles(t, dir, map[string]string{"c.txt": "three"})
	if _, current, err := ReadFolder(dir); err != nil || current {
		t.Errorf("after adding a file: current=%v err=%v, want stale", current, err)
	}
}

// TestWriteRefusesAFileChangedSinceItWasChecksummed: a file damaged or
// replaced after its SHA256SUM was written (and not rewritten by convert,
// whose record would hold the new digest) is an error naming it, and no
// SHA256SUM is written, so verify keeps failing and no catalog lists it.
func TestWriteRefusesAFileChangedSinceItWasChecksummed(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "artifacts")
	dir := filepath.Join(root, "1.0.0/CentOS-7.9.2009/virtualbox")
	other := filepath.Join(root, "1.0.0/CentOS-7.9.2009/gcp")
	box := filepath.Join(dir, "CentOS-7.9.2009-1.0.0_virtualbox.box")
	writeFiles(t, root, map[string]string{
		"1.0.0/CentOS-7.9.2009/virtualbox/CentOS-7.9.2009-1.0.0_virtualbox.box": strings.Repeat("box", 1000),
		"1.0.0/CentOS-7.9.2009/gcp/CentOS-7.9.2009-1.0.0_gcp.tar.gz":            "disk",
	})
	must(t, tree.WriteMade(box, sha256Hex([]byte(strings.Repeat("box", 1000)))))
	if _, err := WriteTree(ctx, root, nil); err != nil {
		t.Fatal(err)
	}
	sums := map[string][]byte{}
	for _, d := range []string{dir, other} {
		sums[d], _ = os.ReadFile(filepath.Join(d, FileName))
	}

	time.Sleep(10 * time.Millisecond)
	must(t, os.Truncate(box, 1000))
	writeFiles(t, other, map[string]string{"CentOS-7.9.2009-1.0.0_gcp.tar.gz": "edited"})
	for _, write := range []struct {
		name string
		run  func() error
	}{
		{"WriteTree", func() error { _, err := WriteTree(ctx, root, nil); return err }},
		{"WriteArtifacts", func() error {
			_, err := WriteArtifacts(ctx, []tree.Artifact{{Provider: "virtualbox", Kind: tree.Box, Path: box}}, nil)
			return err
		}},
	} {
		err := write.run()
		if err == nil || !strings.Contains(err.Error(), box+`" changed since it was checksummed: restore it or rebuild with FORCE=1`) {
			t.Errorf("%s: error = %v, want one naming %q as changed since it was checksummed", write.name, err, box)
		}
		if write.name == "WriteTree" && (err == nil || !strings.Contains(err.Error(), filepath.Join(other, "CentOS-7.9.2009-1.0.0_gcp.tar.gz")+`" changed since it was checksummed`)) {
			t.Errorf("WriteTree: error = %v, want one naming the edited gcp disk too", err)
		}
		for d, before := range sums {
			if after, _ := os.ReadFile(filepath.Join(d, FileName)); string(after) != string(before) {
				t.Errorf("%s: %s/%s was rewritten:\n%s", write.name, d, FileName, after)
			}
		}
	}
	if ms, err := VerifyTree(ctx, root); err != nil || len(ms) != 2 {
		t.Errorf("VerifyTree = %v, %v; want the two changed files", ms, err)
	}
}

func TestCheckChangeTakesListedDigestsNewFilesAndWhatConvertWrote(t *testing.T) {
	dir := t.TempDir()
	recorded := filepath.Join(dir, "recorded.box")
	writeFiles(t, dir, map[string]string{"recorded.box": "new", "plain.box": "new"})
	must(t, tree.WriteMade(recorded, sha256Hex([]byte("new"))))
	plain := filepath.Join(dir, "plain.box")
	old, now := sha256Hex([]byte("old")), sha256Hex([]byte("new"))
	for _, tc := range []struct {
		name, path, listed, sum, want string
	}{
		{"the listed digest", plain, now, now, ""},
		{"a file SHA256SUM does not list yet", plain, "", now, ""},
		{"a file convert rewrote", recorded, old, now, ""},
		{"a file changed since it was checksummed", plain, old, now, "changed since it was checksummed: restore it or rebuild with FORCE=1"},
		{"a file changed since convert wrote it", recorded, "", old, "changed since convert wrote it: restore it or rebuild with FORCE=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckChange(tc.path, tc.listed, tc.sum)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path)) {
				t.Errorf("CheckChange = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestWriteFolderRejectsFolderWithoutArtifact(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "azure")
	writeFiles(t, dir, map[string]string{".azure.vhd.tmp-123": "partial"})
	_, err := writeFolder(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "no artifact") {
		t.Fatalf("error = %v, want one naming %q and saying it has no artifact", err, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !os.IsNotExist(err) {
		t.Errorf("SHA256SUM was written in a folder without artifact (stat: %v)", err)
	}
}

func TestWriteTreeWritesNothingWhenTheTreeHasABadVersionFolder(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	writeFiles(t, root, map[string]string{
		"1.0.0/CentOS-7.9.2009/gcp/x_gcp.tar.gz":  "disk",
		"latest/CentOS-7.9.2009/gcp/x_gcp.tar.gz": "disk",
	})
	_, err := WriteTree(context.Background(), root, nil)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "latest")) {
		t.Fatalf("error = %v, want one naming %q", err, filepath.Join(root, "latest"))
	}
	if _, err := os.Stat(filepath.Join(root, "1.0.0/CentOS-7.9.2009/gcp", FileName)); !os.IsNotExist(err) {
		t.Errorf("a good folder was written although the tree is bad (stat: %v)", err)
	}
}

func TestVerifyTreeNamesEachMismatch(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "artifacts")
	writeFiles(t, root, map[string]string{
		"1.0.0/vm/gcp/vm-1.0.0_gcp.tar.gz":            "gcp disk",
		"1.0.0/vm/azure/vm-1.0.0_azure.vhd":           "azure disk",
		"1.0.0/vm/openstack/vm-1.0.0_openstack.qcow2": "qcow2",
		"1.0.0/vm/openstack/vm-1.0.0_openstack.box":   "box",
		"1.10.0/vm/docker/vm-1.10.0_docker.tar.gz":    "rootfs",
	})
	if _, err := WriteTree(ctx, root, nil); err != nil {
		t.Fatal(err)
	}
	if ms, err := VerifyTree(ctx, root); err != nil || len(ms) != 0 {
		t.Fatalf("fresh tree: mismatches %v, err %v; want none", ms, err)
	}
	gcp := filepath.Join(root, "1.0.0/vm/gcp")
	azure := filepath.Join(root, "1.0.0/vm/azure")
	openstack := filepath.Join(root, "1.0.0/vm/openstack")
	docker := filepath.Join(root, "1.10.0/vm/docker")
	writeFiles(t, root, map[string]string{
		"1.0.0/vm/gcp/vm-1.0.0_gcp.tar.gz": "gcp disk, tampered",
		"1.0.0/vm/openstack/extra.txt":     "not listed",
	})
	if err := os.Remove(filepath.Join(azure, "vm-1.0.0_azure.vhd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(docker, FileName)); err != nil {
		t.Fatal(err)
	}
	ms, err := VerifyTree(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.String())
	}
	want := []string{
		filepath.Join(azure, "vm-1.0.0_azure.vhd") + ": listed in SHA256SUM but missing",
		filepath.Join(gcp, "vm-1.0.0_gcp.tar.gz") + ": checksum differs: SHA256SUM lists " + sha256Hex([]byte("gcp disk")) + ", the file has " + sha256Hex([]byte("gcp disk, tampered")),
		filepath.Join(openstack, "extra.txt") + ": not listed in SHA256SUM",
		filepath.Join(docker, FileName) + ": missing: run mage artifacts:checksum",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mismatches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The error the verify target returns names every one of them.
	merr := MismatchError(ms)
	if merr == nil {
		t.Fatal("MismatchError of 4 mismatches is nil")
	}
	for _, w := range want {
		if !strings.Contains(merr.Error(), w) {
			t.Errorf("error %q lacks %q", merr, w)
		}
	}
	if MismatchError(nil) != nil {
		t.Error("MismatchError of no mismatch is not nil")
	}
	// The real tool agrees about the tampered file.
	cmd := exec.Command(tool(t, "sha256sum"), "-c", FileName)
	cmd.Dir = gcp
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "FAILED") {
		t.Errorf("sha256sum -c passed on the tampered folder:\n%s", out)
	}
}

func TestWriteArtifactsFillsDigestsAndAddsChecksumFiles(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"gcp/a.tar.gz": "a", "gcp/b.box": "b", "azure/c.vhd": "c"})
	arts := []tree.Artifact{
		{Provider: "gcp", Kind: tree.Disk, Path: filepath.Join(root, "gcp/a.tar.gz")},
		{Provider: "azure", Kind: tree.Disk, Path: filepath.Join(root, "azure/c.vhd")},
	}
	got, err := WriteArtifacts(context.Background(), arts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d artifacts, want 2 disks and 2 checksum files: %+v", len(got), got)
	}
	if got[0].SHA256 != sha256Hex([]byte("a")) || got[1].SHA256 != sha256Hex([]byte("c")) {
		t.Errorf("digests not filled in: %+v", got[:2])
	}
	for _, a := range got[2:] {
		data, err := os.ReadFile(a.Path)
		if err != nil || a.Kind != tree.Checksum || a.SHA256 != sha256Hex(data) {
			t.Errorf("checksum artifact %+v: want kind checksum and the digest of the file (err %v)", a, err)
		}
	}
	// b.box was not listed but is covered: every artifact file of a folder is.
	data, _ := os.ReadFile(filepath.Join(root, "gcp", FileName))
	if !strings.Contains(string(data), "  b.box\n") {
		t.Errorf("SHA256SUM does not cover b.box:\n%s", data)
	}

	_, err = WriteArtifacts(context.Background(), []tree.Artifact{{Provider: "gcp", Path: filepath.Join(root, "gcp/missing.tar.gz")}}, nil)
	if err == nil || !strings.Contains(err.Error(), "missing.tar.gz") {
		t.Errorf("missing artifact: error = %v, want one naming it", err)
	}
}

func TestParse(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		name, in string
		want     []Entry
		wantErr  string
	}{
		{"text mode", hex + "  a.box\n", []Entry{{"a.box", hex}}, ""},
		{"binary mode", hex + " *a.box\n", []Entry{{"a.box", hex}}, ""},
		{"upper-case hex", strings.ToUpper(hex) + "  a\n", []Entry{{"a", hex}}, ""},
		{"short digest", "abc  a.box\n", nil, `line 1: want "<64 hex digits>  <file name>"`},
		{"one space", hex + " a.box\n", nil, "line 1"},
		{"listed twice", hex + "  a\n" + hex + "  a\n", nil, `line 2: "a" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("dir/SHA256SUM", []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "dir/SHA256SUM") {
					t.Fatalf("error = %v, want one naming the file and containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
