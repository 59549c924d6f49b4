package inspect

import (
	"bytes"
	"errors"
	"io/fs"
	"time"

	"archive/tar"
	"compress/gzip"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/sparse"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct{ name, body, link string }

func writeRootfs(t *testing.T, entries []entry) string {
	path := filepath.Join(t.TempDir(), "rootfs.tar.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	z := gzip.NewWriter(f)
	tw := tar.NewWriter(z)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		switch {
		case strings.HasSuffix(e.name, "/"):
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case e.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	z.Close()
	f.Close()
	return path
}

func TestADockerRootfsWithAKernelIsBrokenAndOneWithoutHolds(t *testing.T) {
	base := []entry{
		{name: "./"},
		{name: "./etc/"},
		{name: "./etc/os-release", link: "../usr/lib/os-release"},
		{name: "./usr/lib/os-release", body: "NAME=\"Rocky Linux\"\nID=\"rocky\"\n"},
		{name: "./etc/gold-standard-image", body: "vm_name=x\nbuild=docker\n"},
		{name: "./etc/shadow", body: "root:!!:19000::::::\n"},
		{name: "./etc/ssh/sshd_config", body: "PasswordAuthentication no\nPermitRootLogin prohibit-password\n"},
		{name: "./boot/"},
		{name: "./usr/lib/modules/"},
	}
	var out strings.Builder
	rep, err := Inspect(t.Context(), "docker", Source{Path: writeRootfs(t, base), Format: Rootfs}, "", Options{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Family != RHEL || rep.Broken() != nil {
		t.Fatalf("family %q, broken: %v\n%s", rep.Family, rep.Broken(), out.String())
	}
	if !strings.Contains(out.String(), "inspect: docker: ok   no kernel, modules, firmware, bootloader or initramfs") {
		t.Errorf("no ok line for the rootfs rule:\n%s", out.String())
	}
	kernel := append(base, entry{name: "./boot/vmlinuz-5.14", body: "k"}, entry{name: "./usr/lib/firmware/a.bin", body: "f"}, entry{name: "./etc/ssh/ssh_host_rsa_key", body: "k"},
		entry{name: "./etc/passwd", body: "root:x:0:0::/root:/bin/bash\nvagrant:x:1000:1000::/home/vagrant:/bin/bash\n"},
		entry{name: "./home/vagrant/.ssh/authorized_keys", body: VagrantInsecureKeys[1] + "\n"},
		entry{name: "./etc/sudoers", body: "#includedir /etc/sudoers.d\n"}, entry{name: "./etc/sudoers.d/vagrant", body: "vagrant ALL=(ALL) NOPASSWD: ALL\n"})
	rep, err = Inspect(t.Context(), "docker", Source{Path: writeRootfs(t, kernel), Format: Rootfs}, "", Options{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	broken := rep.Broken()
	for _, want := range []string{`docker: rule "no kernel, modules, firmware, bootloader or initramfs": found /boot/vmlinuz-5.14, /usr/lib/firmware/a.bin`, `rule "no SSH host keys"`,
		`rule "no vagrant user": /etc/passwd line 2`, `rule "no known key in any authorized_keys": /home/vagrant/.ssh/authorized_keys line 1`, `rule "no passwordless sudo": sudo without a password: /etc/sudoers.d/vagrant line 1`} {
		if broken == nil || !strings.Contains(broken.Error(), want) {
			t.Errorf("error %v, want it to say %q", broken, want)
		}
	}
}

func TestRunInspectsAnArtifactAgainOnlyWhenItChangedOrBroke(t *testing.T) {
	cfg := &config.Config{Root: t.TempDir(), Site: config.Site{Namespace: "gold", Version: "1.2.3"}, OS: config.OS{VMName: "CentOS-7.9.2009"}}
	art := filepath.Join(cfg.Root, cfg.Tree().Artifact("docker", "tar.gz"))
	if err := os.MkdirAll(filepath.Dir(art), 0o755); err != nil {
		t.Fatal(err)
	}
	good := writeRootfs(t, []entry{
		{name: "./etc/os-release", body: "ID=debian\n"},
		{name: "./etc/gold-standard-image", body: "build=docker\n"},
		{name: "./etc/shadow", body: "root:!*:19000::::::\n"},
		{name: "./etc/ssh/sshd_config", body: "PasswordAuthentication no\nPermitRootLogin prohibit-password\n"},
	})
	docker := selectDocker(t)
	run := func(src string) (string, error) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if src != art {
			if err := os.WriteFile(art, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var out strings.Builder
		_, err = Run(t.Context(), cfg, docker, Options{Out: &out})
		return out.String(), err
	}
	for i, src := range []string{good, art} {
		want := map[int]string{0: "docker: ok   root locked", 1: "up to date"}[i]
		out, err := run(src)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("run %d: %v, want %q in:\n%s", i+1, err, want, out)
		}
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(art, later, later)
	if out, err := run(art); err != nil || !strings.Contains(out, "ok   root locked") {
		t.Fatalf("after a change: %v, want it inspected again:\n%s", err, out)
	}
	broken := writeRootfs(t, []entry{{name: "./etc/os-release", body: "ID=debian\n"}, {name: "./boot/vmlinuz", body: "k"}})
	for range 2 {
		out, err := run(broken)
		if err == nil || !strings.Contains(err.Error(), `docker: rule "root locked": /etc/shadow is missing`) || strings.Contains(out, "up to date") {
			t.Fatalf("broken rootfs: %v\n%s", err, out)
		}
	}
}

func selectDocker(t *testing.T) []providers.Provider {
	ps, err := providers.Select("docker", "")
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestADiskInATarballIsExtractedWholeAndSparse(t *testing.T) {
	disk := make([]byte, 8<<20)
	copy(disk[100:], "boot sector")
	copy(disk[5<<20:], "data far in")
	dir := t.TempDir()
	ova := filepath.Join(dir, "x.ova")
	f, err := os.Create(ova)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	for _, m := range []struct {
		name string
		data []byte
	}{{"x.ovf", []byte("<Envelope/>")}, {"x-disk1.vmdk", disk}} {
		tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg})
		tw.Write(m.data)
	}
	tw.Close()
	f.Close()
	path, format, err := Source{Path: ova, Format: OVA}.disk(t.Context(), t.TempDir())
	if err != nil || format != "vmdk" || filepath.Base(path) != "x-disk1.vmdk" {
		t.Fatalf("got %q %q %v", path, format, err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, disk) {
		t.Fatalf("extracted disk differs (%d bytes, %v)", len(got), err)
	}
	if a := sparse.Allocated(path); a >= int64(len(disk))/2 {
		t.Errorf("extracted disk takes %d bytes on disk for 2 blocks of data: not sparse", a)
	}
	if _, _, err := (Source{Path: writeRootfs(t, nil), Format: GCPTarball}).disk(t.Context(), t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a GCP tarball without disk.raw: %v, want a not-exist error", err)
	}
}
