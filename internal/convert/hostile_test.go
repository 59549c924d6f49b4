package convert

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gold-standard-images/internal/diskcheck/disktest"
	"gold-standard-images/internal/run/runtest"
	"gold-standard-images/internal/sshkeys"
)

// TestAPackerOutputThatRefersToAHostFileIsRefusedNamingBoth: a qcow2 whose
// backing file is a file of the host (azure, docker, gcp, openstack), a
// VMware disk whose extent is one (vmware) and an OVA whose VMDK is one
// (aws) are refused before anything reads them,
// naming the disk and the host file; nothing of the host file reaches
// artifacts/.
func TestAPackerOutputThatRefersToAHostFileIsRefusedNamingBoth(t *testing.T) {
	need(t, "qemu-img")
	cfg := testConfig(t)
	_, err := sshkeys.Ensure(filepath.Join(cfg.Root, "keys"), "vagrant")
	must(t, err)
	refers := map[string][2]string{} // provider: the disk, the host file it names
	for _, p := range []string{"azure", "docker", "gcp", "openstack"} {
		in := packerOutput(t, cfg, p, "qcow2")
		refers[p] = [2]string{in, disktest.BackedQcow2(t, in)}
	}
	vmx := packerOutput(t, cfg, "vmware", "vmx")
	must(t, os.WriteFile(vmx, []byte(`scsi0:0.fileName = "disk.vmdk"`+"\n"), 0o644))
	vmdk := filepath.Join(filepath.Dir(vmx), "disk.vmdk")
	refers["vmware"] = [2]string{vmdk, disktest.FlatVMDK(t, vmdk)}
	ova := packerOutput(t, cfg, "aws", "ova")
	refers["aws"] = [2]string{ova, disktest.HostileOVA(t, ova, cfg.Tree().BaseName("aws"))}
	t.Setenv("PATH", withoutOvftool(t))

	_, err = Run(context.Background(), cfg, selectOnly(t, "aws,azure,docker,gcp,openstack,vmware"), Options{Getenv: runtest.TCG})
	t.Logf("error:\n%v", err)
	for p, names := range refers {
		line := lineOf(err, "converting "+p+":")
		if !strings.Contains(line, names[0]) || !strings.Contains(line, names[1]) {
			t.Errorf("%s: the error %q does not name the disk %q and the host file %q", p, line, names[0], names[1])
		}
	}
	filepath.WalkDir(filepath.Join(cfg.Root, "artifacts"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && holdsSecret(t, path) {
			t.Errorf("%s holds the host file's content", path)
		}
		return nil
	})
}

// lineOf is the first line of err's text holding prefix, and the lines
// after it up to the next "converting ".
func lineOf(err error, prefix string) string {
	if err == nil {
		return ""
	}
	text := err.Error()
	i := strings.Index(text, prefix)
	if i < 0 {
		return ""
	}
	rest := text[i+len(prefix):]
	if j := strings.Index(rest, "\nconverting "); j >= 0 {
		rest = rest[:j]
	}
	return prefix + rest
}

// holdsSecret says whether the file at path, or any member of it when it
// is a (gzip) tarball, holds the hostile disks' host file content.
func holdsSecret(t *testing.T, path string) bool {
	data, err := os.ReadFile(path)
	must(t, err)
	if bytes.Contains(data, []byte(disktest.Secret)) {
		return true
	}
	var r io.Reader = bytes.NewReader(data)
	if z, err := gzip.NewReader(r); err == nil {
		if data, err = io.ReadAll(z); err != nil {
			return false
		}
		if bytes.Contains(data, []byte(disktest.Secret)) {
			return true
		}
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		if _, err := tr.Next(); err != nil {
			return false
		}
		if m, _ := io.ReadAll(tr); bytes.Contains(m, []byte(disktest.Secret)) {
			return true
		}
	}
}
