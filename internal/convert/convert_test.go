package convert

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/layerdigest"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/tree"
)

// need fails the test loudly when a tool is missing (CI installs it).
func need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("this test needs %s (apt-get install qemu-utils fdisk e2fsprogs libguestfs-tools tar): %v", tool, err)
		}
	}
}

func sh(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// testConfig is a configuration rooted in a fresh folder.
func testConfig(t testing.TB) *config.Config {
	return &config.Config{
		Root: t.TempDir(),
		Site: config.Site{Namespace: "gold", Version: "1.2.3"},
		OS:   config.OS{VMName: "CentOS-7.9.2009"},
	}
}

// packerOutput is the path of a Packer output file of provider.
func packerOutput(t testing.TB, cfg *config.Config, provider, ext string) string {
	dir := filepath.Join(cfg.Root, cfg.Tree().PackerOutput(provider))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, cfg.Tree().ArtifactName(provider, ext))
}

func artifactPath(cfg *config.Config, provider, ext string) string {
	return filepath.Join(cfg.Root, cfg.Tree().Artifact(provider, ext))
}

func selectOnly(t testing.TB, names string) []providers.Provider {
	ps, err := providers.Select(names, "")
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// guestDisk writes a tiny qcow2 disk at path: an MBR partition table and
// one ext4 partition holding a CentOS-looking tree (so libguestfs
// inspection finds an OS) with a setuid root program, a file owned by
// 1000:1001 with mode 0640 and a user.origin extended attribute. Its
// virtual size is 40 MiB plus 3 sectors (not a whole MiB).
func guestDisk(t *testing.T, path string) {
	need(t, "qemu-img", "sfdisk", "mkfs.ext4", "setfattr")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	files := map[string]string{
		"etc/os-release":     "ID=\"centos\"\nVERSION_ID=\"7\"\nNAME=\"CentOS Linux\"\n",
		"etc/redhat-release": "CentOS Linux release 7.9.2009 (Core)\n",
		"etc/fstab":          "/dev/sda1 / ext4 defaults 0 1\n",
		"usr/bin/su":         "#!/bin/sh\n",
		"home/alice/notes":   "secret\n",
		"bin/.keep":          "",
		"sbin/.keep":         "",
		// What a container must not get (rootfsExcludes).
		"boot/vmlinuz-3.10.0-1160.el7.x86_64":                     "kernel",
		"boot/grub2/grub.cfg":                                     "menu",
		"usr/lib/modules/3.10.0-1160.el7.x86_64/kernel/vda.ko.xz": "module",
		"usr/lib/firmware/iwlwifi.ucode":                          "firmware",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.Chmod(filepath.Join(root, "usr/bin/su"), 0o4755|os.ModeSetuid))
	must(t, os.Chmod(filepath.Join(root, "home/alice/notes"), 0o640))
	must(t, os.Chown(filepath.Join(root, "home/alice"), 1000, 1001))
	must(t, os.Chown(filepath.Join(root, "home/alice/notes"), 1000, 1001))
	sh(t, dir, "setfattr", "-n", "user.origin", "-v", "gold", filepath.Join(root, "home/alice/notes"))
	raw := filepath.Join(dir, "disk.raw")
	must(t, os.WriteFile(raw, nil, 0o644))
	must(t, os.Truncate(raw, 40<<20+3*512))
	cmd := exec.Command("sfdisk", "-q", raw)
	cmd.Stdin = strings.NewReader("start=2048, type=83\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v %s", err, out)
	}
	sh(t, dir, "mkfs.ext4", "-q", "-E", "offset=1048576", "-d", root, raw, "38M")
	sh(t, dir, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, path)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestAzureIsAFixedVHDRoundedUpToAWholeMiB(t *testing.T) {
	cfg := testConfig(t)
	in := packerOutput(t, cfg, "azure", "qcow2")
	guestDisk(t, in)
	arts, err := Run(context.Background(), cfg, selectOnly(t, "azure"), Options{})
	must(t, err)
	vhd := artifactPath(cfg, "azure", "vhd")
	want := []tree.Artifact{{Provider: "azure", Kind: tree.Disk, Path: rel(cfg.Root, vhd)}}
	if !equalArtifacts(arts, want) {
		t.Fatalf("artifacts = %+v, want %+v", arts, want)
	}
	var info struct {
		VirtualSize int64  `json:"virtual-size"`
		Format      string `json:"format"`
	}
	must(t, json.Unmarshal([]byte(sh(t, "", "qemu-img", "info", "-f", "vpc", "--output=json", vhd)), &info))
	const rounded = 41 << 20 // 40 MiB + 3 sectors, rounded up
	if info.VirtualSize != rounded || info.Format != "vpc" {
		t.Errorf("qemu-img info: virtual size %d format %q, want %d vpc", info.VirtualSize, info.Format, rounded)
	}
	st, err := os.Stat(vhd)
	must(t, err)
	if st.Size() != rounded+512 {
		t.Errorf("file size %d, want %d (whole MiB + 512-byte footer)", st.Size(), rounded+512)
	}
	footer := make([]byte, 512)
	f, err := os.Open(vhd)
	must(t, err)
	defer f.Close()
	_, err = f.ReadAt(footer, st.Size()-512)
	must(t, err)
	if string(footer[:8]) != "conectix" || footer[63] != 2 {
		t.Errorf("footer cookie %q disk type %d, want conectix and 2 (fixed)", footer[:8], footer[63])
	}
	// Same content as the qcow2 (the extra sectors are zeros).
	sh(t, "", "qemu-img", "compare", "-f", "qcow2", "-F", "vpc", in, vhd)
}

func TestAzureVHDStaysSparseAndHoldsTheSameData(t *testing.T) {
	need(t, "qemu-img")
	cfg := testConfig(t)
	in := packerOutput(t, cfg, "azure", "qcow2")
	raw := filepath.Join(t.TempDir(), "disk.raw")
	var offsets []int64
	for off := int64(0); off < 1<<30; off += 128 << 20 {
		for k := int64(0); k < 1<<20; k += 4096 {
			offsets = append(offsets, off+k) // 1 MiB of data every 128 MiB
		}
	}
	sparseFile(t, raw, 1<<30, offsets...)
	sh(t, "", "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, in)
	_, err := Run(context.Background(), cfg, selectOnly(t, "azure"), Options{})
	must(t, err)
	vhd := artifactPath(cfg, "azure", "vhd")

	var extents []struct {
		Length int64 `json:"length"`
		Data   bool  `json:"data"`
	}
	must(t, json.Unmarshal([]byte(sh(t, "", "qemu-img", "map", "-f", "qcow2", "--output=json", in)), &extents))
	var data int64
	for _, e := range extents {
		if e.Data {
			data += e.Length
		}
	}
	st, err := os.Stat(vhd)
	must(t, err)
	onDisk := st.Sys().(*syscall.Stat_t).Blocks * 512
	if data == 0 || float64(onDisk) > 1.2*float64(data) {
		t.Errorf("the VHD takes %d bytes on disk for %d bytes of data in the qcow2, want at most 1.2x (sparse)", onDisk, data)
	}
	sh(t, "", "qemu-img", "compare", "-f", "qcow2", "-F", "vpc", in, vhd)
}

func TestGCPTarballHoldsExactlyASparseDiskRaw(t *testing.T) {
	need(t, "tar")
	cfg := testConfig(t)
	in := packerOutput(t, cfg, "gcp", "qcow2")
	guestDisk(t, in)
	_, err := Run(context.Background(), cfg, selectOnly(t, "gcp"), Options{})
	must(t, err)
	out := artifactPath(cfg, "gcp", "tar.gz")

	listing := sh(t, "", "tar", "-tzf", out)
	if listing != "disk.raw\n" {
		t.Errorf("GNU tar lists %q, want only disk.raw", listing)
	}
	f, err := os.Open(out)
	must(t, err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	must(t, err)
	tr := tar.NewReader(z)
	h, err := tr.Next()
	must(t, err)
	if h.Name != "disk.raw" || h.Typeflag != tar.TypeGNUSparse || h.Format != tar.FormatGNU {
		t.Errorf("member %q type %q format %v, want disk.raw, GNU sparse (oldgnu)", h.Name, h.Typeflag, h.Format)
	}
	if h.Size != 40<<20+3*512 {
		t.Errorf("disk.raw size %d, want the virtual size %d", h.Size, 40<<20+3*512)
	}
	got, err := io.ReadAll(tr)
	must(t, err)
	raw := filepath.Join(t.TempDir(), "want.raw")
	sh(t, "", "qemu-img", "convert", "-f", "qcow2", "-O", "raw", in, raw)
	want, err := os.ReadFile(raw)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Error("disk.raw differs from the disk converted to raw")
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("a second member follows disk.raw: %v", err)
	}
}

func TestDockerRootfsKeepsOwnersModesSetuidAndXattrs(t *testing.T) {
	need(t, "guestfish")
	cfg := testConfig(t)
	in := packerOutput(t, cfg, "docker", "qcow2")
	guestDisk(t, in)
	var log bytes.Buffer
	_, err := Run(context.Background(), cfg, selectOnly(t, "docker"), Options{Log: &log})
	must(t, err)
	f, err := os.Open(artifactPath(cfg, "docker", "tar.gz"))
	must(t, err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	must(t, err)
	tr := tar.NewReader(z)
	members := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		members[strings.TrimPrefix(h.Name, "./")] = h
	}
	su, notes := members["usr/bin/su"], members["home/alice/notes"]
	if su == nil || notes == nil || members["etc/os-release"] == nil {
		t.Fatalf("rootfs lacks usr/bin/su, home/alice/notes or etc/os-release; has %v", keys(members))
	}
	for name := range members {
		for _, dir := range []string{"boot/", "usr/lib/modules/", "usr/lib/firmware/"} {
			if strings.HasPrefix(name, dir) && name != dir {
				t.Errorf("rootfs has %s: a container gets no kernel, modules, firmware or bootloader", name)
			}
		}
	}
	if members["boot/"] == nil && members["boot"] == nil {
		t.Errorf("rootfs lacks the empty boot folder; has %v", keys(members))
	}
	if su.Mode&0o7777 != 0o4755 || su.Uid != 0 || su.Gid != 0 {
		t.Errorf("usr/bin/su mode %o owner %d:%d, want 4755 0:0", su.Mode&0o7777, su.Uid, su.Gid)
	}
	if notes.Mode&0o7777 != 0o640 || notes.Uid != 1000 || notes.Gid != 1001 {
		t.Errorf("home/alice/notes mode %o owner %d:%d, want 640 1000:1001", notes.Mode&0o7777, notes.Uid, notes.Gid)
	}
	if got := notes.PAXRecords["SCHILY.xattr.user.origin"]; got != "gold" {
		t.Errorf("home/alice/notes xattr user.origin = %q, want gold (PAX records %v)", got, notes.PAXRecords)
	}
	// The layer digests upload:docker needs are recorded, and right.
	recorded, ok := layerdigest.Read(artifactPath(cfg, "docker", "tar.gz"))
	want, err := layerdigest.Compute(context.Background(), artifactPath(cfg, "docker", "tar.gz"))
	must(t, err)
	if !ok || recorded != want {
		t.Errorf("recorded layer digests %+v (found %v), want %+v", recorded, ok, want)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func equalArtifacts(a, b []tree.Artifact) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestAGuestfishPastItsBoundIsStoppedNamingItsLogAndLeavesNoProcess gives
// the real guestfish a bound it cannot meet (its appliance takes far longer
// to boot under TCG), as a hung appliance would reach it: the conversion
// must end with an error naming guestfish, the log and the likely causes,
// and leave neither guestfish nor its QEMU behind.
func TestAGuestfishPastItsBoundIsStoppedNamingItsLogAndLeavesNoProcess(t *testing.T) {
	need(t, "guestfish")
	defer func(d time.Duration) { guestfishStartup = d }(guestfishStartup)
	guestfishStartup = 3 * time.Second
	cfg := testConfig(t)
	in := packerOutput(t, cfg, "docker", "qcow2")
	guestDisk(t, in)
	env := map[string]string{"QEMU_ACCELERATOR": "tcg"}
	_, err := Run(context.Background(), cfg, selectOnly(t, "docker"), Options{Getenv: func(k string) string { return env[k] }})
	var timeout *run.TimeoutError
	if !errors.As(err, &timeout) {
		t.Fatalf("error %v, want a timeout", err)
	}
	for _, want := range []string{"guestfish did not finish within", "logs/1.2.3/CentOS-7.9.2009/docker.convert.log", "LIBGUESTFS_BACKEND_SETTINGS=force_tcg", "df -h"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.Root, "logs/1.2.3/CentOS-7.9.2009/docker.convert.log")); err != nil {
		t.Errorf("the conversion log is missing: %v", err)
	}
	if _, err := os.Stat(artifactPath(cfg, "docker", "tar.gz")); !os.IsNotExist(err) {
		t.Errorf("a docker artifact exists after the timeout (%v)", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := processesUsing(in)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes still use %s after the timeout: %v", in, left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processesUsing lists the running processes whose command line names path.
func processesUsing(path string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), path) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if _, rest, _ := strings.Cut(string(stat), ") "); strings.HasPrefix(rest, "Z") {
			continue
		}
		found = append(found, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return found
}

func TestToolBoundsGrowWithTheDataNotTheVirtualSize(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "disk.raw")
	f, err := os.Create(sparse)
	must(t, err)
	must(t, f.Truncate(8<<30)) // 8 GiB virtual
	_, err = f.WriteAt(bytes.Repeat([]byte{1}, 8<<20), 1<<30)
	must(t, err)
	must(t, f.Close())
	must(t, os.WriteFile(filepath.Join(dir, "disk.vmx"), bytes.Repeat([]byte{2}, 4<<20), 0o644))
	for _, tc := range []struct {
		path string
		want time.Duration
	}{
		{sparse, time.Minute + 2*time.Second},        // 8 MiB of data at 4 MiB/s
		{dir, time.Minute + 3*time.Second},           // and 4 MiB more beside it
		{filepath.Join(dir, "missing"), time.Minute}, // nothing to read
	} {
		if got := boundFor(tc.path, time.Minute, 4<<20); got != tc.want {
			t.Errorf("boundFor(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}
