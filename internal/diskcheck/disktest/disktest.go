// Package disktest makes the hostile disks of the tests: disk images that
// refer to a file of the host (a backing file, a VMDK extent), which
// everything that opens a disk must refuse (internal/diskcheck).
package disktest

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gold-standard-images/internal/run/runtest"
)

// Secret is the content of the host file the hostile disks refer to,
// repeated to fill it: a test can look for it in what was made.
const Secret = "host file content, never to be in an image\n"

// HostFile is a file of "this host", 1 MiB of Secret, outside every
// folder the test gives a disk (its own temporary folder).
func HostFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "host-secret")
	data := strings.Repeat(Secret, 1<<20/len(Secret)+1)[:1<<20]
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// BackedQcow2 writes a qcow2 at path whose backing file is a host file
// (qemu-img create -f qcow2 -b <host file> -F raw) and returns that file.
func BackedQcow2(t testing.TB, path string) string {
	t.Helper()
	host := HostFile(t)
	QemuImg(t, "create", "-q", "-f", "qcow2", "-b", host, "-F", "raw", path)
	return host
}

// FlatVMDK writes a VMDK descriptor at path whose one extent is a host
// file, and returns that file.
func FlatVMDK(t testing.TB, path string) string {
	t.Helper()
	host := HostFile(t)
	descriptor := "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\nRW 2048 FLAT \"" + host + "\" 0\n\nddb.adapterType = \"ide\"\n"
	if err := os.WriteFile(path, []byte(descriptor), 0o644); err != nil {
		t.Fatal(err)
	}
	return host
}

// QemuImg runs qemu-img with args, failing the test (loudly: CI installs
// qemu-utils) when it is missing or fails.
func QemuImg(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img %s: %v\n%s (apt-get install qemu-utils)", strings.Join(args, " "), err, out)
	}
}

// Member is one file of a tarball Tarball writes.
type Member struct {
	Name string
	Data []byte
}

// Tarball writes the members to a tar at path, gzipped when the name ends
// in .gz (an OVA is a plain tar, a GCP image a gzipped one).
func Tarball(t testing.TB, path string, members ...Member) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var w io.WriteCloser = nopCloser{f}
	if strings.HasSuffix(path, ".gz") {
		w = gzip.NewWriter(f)
	}
	tw := tar.NewWriter(w)
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: m.Name, Mode: 0o644, Size: int64(len(m.Data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.Data); err != nil {
			t.Fatal(err)
		}
	}
	for _, err := range []error{tw.Close(), w.Close(), f.Close()} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// HostileOVA writes an OVA at path (members <stem>.ovf and
// <stem>-disk001.vmdk) whose disk is a VMDK descriptor naming a host file
// as its extent, and returns that file.
func HostileOVA(t testing.TB, path, stem string) string {
	t.Helper()
	vmdk := filepath.Join(t.TempDir(), "d.vmdk")
	host := FlatVMDK(t, vmdk)
	disk, err := os.ReadFile(vmdk)
	if err != nil {
		t.Fatal(err)
	}
	ovf := `<Envelope><References><File ovf:id="file1" ovf:href="` + stem + `-disk001.vmdk"/></References></Envelope>`
	Tarball(t, path, Member{stem + ".ovf", []byte(ovf)}, Member{stem + "-disk001.vmdk", disk})
	return host
}

// Hostiles are the hostile disks of one test, in one folder: a qcow2
// backed by a host file and an OVA whose VMDK names one as its extent.
type Hostiles struct {
	Qcow2, Backing string // the qcow2 (x_openstack.qcow2) and its backing file
	OVA, Extent    string // the OVA (x_aws.ova, disk x_aws-disk001.vmdk) and the extent
}

// MakeHostiles writes the Hostiles into dir.
func MakeHostiles(t testing.TB, dir string) Hostiles {
	t.Helper()
	h := Hostiles{Qcow2: filepath.Join(dir, "x_openstack.qcow2"), OVA: filepath.Join(dir, "x_aws.ova")}
	h.Backing = BackedQcow2(t, h.Qcow2)
	h.Extent = HostileOVA(t, h.OVA, "x_aws")
	return h
}

// Refused fails t unless err names every one of want and the tool never
// ran (its stand-in, runtest.DyingTool, would have said runtest.Dying).
func Refused(t testing.TB, err error, want ...string) {
	t.Helper()
	t.Logf("error: %v", err)
	if err != nil && strings.Contains(err.Error(), runtest.Dying) {
		t.Error("the tool was run on the disk")
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not name %q", w)
		}
	}
}
