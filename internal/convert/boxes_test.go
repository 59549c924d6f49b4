package convert

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	govmomiovf "github.com/vmware/govmomi/ovf"

	sha256sum "gold-standard-images/internal/checksum"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/tree"
)

// makeOVA writes an OVA like VirtualBox's at path: descriptor, a
// streamOptimized disk made by qemu-img, and a manifest.
func makeOVA(t *testing.T, path, stem string) {
	need(t, "qemu-img")
	dir := t.TempDir()
	sh(t, dir, "qemu-img", "create", "-f", "raw", filepath.Join(dir, "d.raw"), "8M")
	makeOVAOf(t, path, stem, filepath.Join(dir, "d.raw"), "raw")
}

// makeOVAOf writes an OVA like VirtualBox's at path holding the disk src
// (of the given format) as a streamOptimized VMDK.
func makeOVAOf(t *testing.T, path, stem, src, format string) {
	need(t, "qemu-img")
	dir := t.TempDir()
	vmdk := filepath.Join(dir, "d.vmdk")
	sh(t, dir, "qemu-img", "convert", "-f", format, "-O", "vmdk", "-o", "subformat=streamOptimized", src, vmdk)
	disk, err := os.ReadFile(vmdk)
	must(t, err)
	ovf := `<Envelope><References><File ovf:id="file1" ovf:href="` + stem + `-disk001.vmdk" ovf:size="` + fmt.Sprint(len(disk)) + `"/></References>
<vbox:Machine><Hardware><Network><Adapter slot="0" enabled="true" MACAddress="080027ABCDEF" type="82540EM"/></Network></Hardware></vbox:Machine></Envelope>`
	f, err := os.Create(path)
	must(t, err)
	tw := tar.NewWriter(f)
	for _, m := range []struct {
		name string
		data []byte
	}{{stem + ".ovf", []byte(ovf)}, {stem + "-disk001.vmdk", disk}, {stem + ".mf", []byte("SHA1(" + stem + ".ovf)= 00\n")}} {
		must(t, tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data))}))
		_, err := tw.Write(m.data)
		must(t, err)
	}
	must(t, tw.Close())
	must(t, f.Close())
}

// boxMembers reads a box: member name to content.
func boxMembers(t *testing.T, path string) map[string][]byte {
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	must(t, err)
	return members(t, z)
}

// tarMembers reads a plain tar (an OVA).
func tarMembers(t *testing.T, path string) map[string][]byte {
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	return members(t, f)
}

func members(t *testing.T, r io.Reader) map[string][]byte {
	tr := tar.NewReader(r)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		must(t, err)
		data, err := io.ReadAll(tr)
		must(t, err)
		out[h.Name] = data
	}
}

func TestAsBuiltDisksAreLinkedAndVagrantBoxesMade(t *testing.T) {
	cfg := testConfig(t)
	for _, p := range []string{"aws", "virtualbox"} {
		makeOVA(t, packerOutput(t, cfg, p, "ova"), cfg.Tree().BaseName(p))
	}
	qcow := packerOutput(t, cfg, "openstack", "qcow2")
	sh(t, "", "qemu-img", "create", "-f", "qcow2", qcow, "2148M") // 2 GiB + 100 MiB: virtual_size 3
	vmx := packerOutput(t, cfg, "vmware", "vmx")
	must(t, os.WriteFile(vmx, []byte(`guestOS = "centos7-64"`+"\n"+`scsi0:0.fileName = "disk.vmdk"`+"\n"), 0o644))
	vmdk := filepath.Join(filepath.Dir(vmx), "disk.vmdk")
	sh(t, "", "qemu-img", "create", "-f", "vmdk", vmdk, "100M")

	t.Setenv("PATH", withoutOvftool(t))
	var log bytes.Buffer
	arts, err := Run(context.Background(), cfg, selectOnly(t, "aws,virtualbox,openstack,vmware"), Options{Log: &log})
	must(t, err)

	var got []string
	for _, a := range arts {
		got = append(got, a.Provider+" "+string(a.Kind)+" "+filepath.Base(a.Path))
	}
	want := []string{
		"aws disk CentOS-7.9.2009-1.2.3_aws.ova",
		"openstack disk CentOS-7.9.2009-1.2.3_openstack.qcow2",
		"virtualbox box CentOS-7.9.2009-1.2.3_virtualbox.box",
		"virtualbox disk CentOS-7.9.2009-1.2.3_virtualbox.ova",
		"vmware disk CentOS-7.9.2009-1.2.3_vmware.ova",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("artifacts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Without ovftool the OVA is made in Go: descriptor first, the disk
	// at the VMX's capacity, read by govmomi's parser.
	ova := tarMembers(t, artifactPath(cfg, "vmware", "ova"))
	env, err := govmomiovf.Unmarshal(bytes.NewReader(ova["CentOS-7.9.2009-1.2.3_vmware.ovf"]))
	if err != nil {
		t.Errorf("the vmware OVA's descriptor: %v (members %v)", err, keys(ova))
	} else if env.Disk == nil || len(env.Disk.Disks) != 1 || env.Disk.Disks[0].Capacity != fmt.Sprint(100<<20) || ova["CentOS-7.9.2009-1.2.3_vmware-disk1.vmdk"] == nil {
		t.Errorf("the vmware OVA: disks %+v, members %v; want one disk of 100 MiB", env.Disk, keys(ova))
	}
	// As built: the same file.
	for _, p := range []struct{ provider, ext string }{{"aws", "ova"}, {"openstack", "qcow2"}} {
		a, _ := os.ReadFile(packerOutput(t, cfg, p.provider, p.ext))
		b, err := os.ReadFile(artifactPath(cfg, p.provider, p.ext))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: artifact is not the Packer output as built (%v)", p.provider, err)
		}
	}

	vb := boxMembers(t, artifactPath(cfg, "virtualbox", "box"))
	if string(vb["metadata.json"]) != `{"provider":"virtualbox"}`+"\n" {
		t.Errorf("virtualbox metadata.json = %s", vb["metadata.json"])
	}
	if !bytes.Contains(vb["box.ovf"], []byte("CentOS-7.9.2009-1.2.3_virtualbox-disk001.vmdk")) || vb["CentOS-7.9.2009-1.2.3_virtualbox-disk001.vmdk"] == nil {
		t.Errorf("virtualbox box lacks box.ovf or the disk it names: %v", keys(vb))
	}
	if vb["CentOS-7.9.2009-1.2.3_virtualbox.mf"] != nil {
		t.Error("virtualbox box keeps the OVA manifest, which names the renamed descriptor")
	}
	if !bytes.Contains(vb["Vagrantfile"], []byte(`config.vm.base_mac = "080027ABCDEF"`)) {
		t.Errorf("Vagrantfile lacks the base MAC:\n%s", vb["Vagrantfile"])
	}

	// The libvirt and vmware_desktop box writers of the debug boxes
	// (debugbox_test.go makes those on a real guest), on the disks as built.
	j := &job{tools: io.Discard, input: qcow, inDir: filepath.Dir(vmx)}
	libvirtBox, vmwareBox := filepath.Join(t.TempDir(), "libvirt.box"), filepath.Join(t.TempDir(), "vmware.box")
	must(t, writeLibvirtBox(context.Background(), j, qcow, libvirtBox))
	must(t, writeVmwareBox(context.Background(), j, vmwareBox, "", ""))
	lv := boxMembers(t, libvirtBox)
	var meta map[string]any
	must(t, json.Unmarshal(lv["metadata.json"], &meta))
	if meta["provider"] != "libvirt" || meta["format"] != "qcow2" || meta["virtual_size"] != float64(3) {
		t.Errorf("libvirt metadata.json = %s, want provider libvirt, format qcow2, virtual_size 3", lv["metadata.json"])
	}
	if q, _ := os.ReadFile(qcow); !bytes.Equal(lv["box.img"], q) {
		t.Error("libvirt box.img is not the qcow2")
	}

	vm := boxMembers(t, vmwareBox)
	if disk, _ := os.ReadFile(vmdk); string(vm["metadata.json"]) != `{"provider":"vmware_desktop"}`+"\n" || vm["CentOS-7.9.2009-1.2.3_vmware.vmx"] == nil || !bytes.Equal(vm["disk.vmdk"], disk) {
		t.Errorf("vmware box members %v, metadata %s", keys(vm), vm["metadata.json"])
	}

	// vagrant takes the boxes.
	if _, err := exec.LookPath("vagrant"); err == nil {
		home := t.TempDir()
		var out bytes.Buffer
		err := run.Run(context.Background(), run.Cmd{
			Name: "vagrant", Args: []string{"box", "add", "--name", "gold/test", libvirtBox},
			Env: []string{"VAGRANT_HOME=" + home, "VAGRANT_CHECKPOINT_DISABLE=1"}, Output: &out,
			Timeout: 2 * time.Minute, // a tiny box: vagrant's start-up is all it needs
		})
		if err != nil {
			t.Errorf("vagrant box add: %v\n%s", err, out.String())
		}
	} else {
		t.Errorf("vagrant not installed: %v", err)
	}
}

// withoutOvftool is PATH without any folder holding ovftool, so the test
// sees the fallback even where ovftool is installed.
func withoutOvftool(t *testing.T) string {
	var keep []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "ovftool")); err != nil {
			keep = append(keep, dir)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

func TestRerunKeepsUpToDateOutputsAndRedoesStaleOnes(t *testing.T) {
	cfg := testConfig(t)
	in := packerOutput(t, cfg, "aws", "ova")
	makeOVA(t, in, cfg.Tree().BaseName("aws"))
	ctx := context.Background()
	_, err := Run(ctx, cfg, selectOnly(t, "aws"), Options{})
	must(t, err)
	out := artifactPath(cfg, "aws", "ova")
	before, err := os.Stat(out)
	must(t, err)

	var log bytes.Buffer
	arts, err := Run(ctx, cfg, selectOnly(t, "aws"), Options{Log: &log})
	must(t, err)
	if !strings.Contains(log.String(), "up to date") || len(arts) != 1 || arts[0].Kind != tree.Disk {
		t.Errorf("second run: log %q, artifacts %+v", log.String(), arts)
	}
	after, _ := os.Stat(out)
	if !os.SameFile(before, after) {
		t.Error("second run replaced an up-to-date output")
	}

	// A new Packer build (a new file, newer) makes the output stale.
	must(t, os.Remove(in))
	makeOVA(t, in, cfg.Tree().BaseName("aws"))
	log.Reset()
	_, err = Run(ctx, cfg, selectOnly(t, "aws"), Options{Log: &log})
	must(t, err)
	if !strings.Contains(log.String(), "made") {
		t.Errorf("stale output not redone: %q", log.String())
	}
}

// TestADamagedOutputIsMadeAgain: an output that is not what convert wrote
// (truncated after the fact: the same modification time or newer, another
// size) is not up to date; it is made again, and checksums take the new
// file since convert wrote it.
func TestADamagedOutputIsMadeAgain(t *testing.T) {
	cfg := testConfig(t)
	makeOVA(t, packerOutput(t, cfg, "virtualbox", "ova"), cfg.Tree().BaseName("virtualbox"))
	ctx := context.Background()
	_, err := Run(ctx, cfg, selectOnly(t, "virtualbox"), Options{})
	must(t, err)
	artifacts := filepath.Join(cfg.Root, tree.ArtifactsDir)
	_, err = sha256sum.WriteTree(ctx, artifacts, nil)
	must(t, err)
	box := artifactPath(cfg, "virtualbox", "box")
	must(t, os.Truncate(box, 1000))

	var log bytes.Buffer
	arts, err := Run(ctx, cfg, selectOnly(t, "virtualbox"), Options{Log: &log})
	must(t, err)
	if !strings.Contains(log.String(), filepath.Base(box)+" is not what convert wrote") || !strings.Contains(log.String(), filepath.Base(box)+" made") {
		t.Errorf("the truncated box was not made again:\n%s", log.String())
	}
	if !strings.Contains(log.String(), cfg.Tree().ArtifactName("virtualbox", "ova")+" up to date") {
		t.Errorf("the untouched OVA was made again:\n%s", log.String())
	}
	if st, err := os.Stat(box); err != nil || st.Size() == 1000 {
		t.Errorf("box after the rerun: %v, %v", st, err)
	}
	for i := range arts {
		arts[i].Path = filepath.Join(cfg.Root, arts[i].Path) // relative to the root
	}
	if _, err := sha256sum.WriteArtifacts(ctx, arts, nil); err != nil {
		t.Errorf("checksums refuse the box convert made again: %v", err)
	}
	if ms, err := sha256sum.VerifyTree(ctx, artifacts); err != nil || len(ms) != 0 {
		t.Errorf("VerifyTree = %v, %v; want no mismatch", ms, err)
	}
}

func TestProviderWithoutPackerOutputIsSkippedWithANote(t *testing.T) {
	cfg := testConfig(t)
	makeOVA(t, packerOutput(t, cfg, "aws", "ova"), cfg.Tree().BaseName("aws"))
	var log bytes.Buffer
	arts, err := Run(context.Background(), cfg, selectOnly(t, "aws,gcp"), Options{Log: &log})
	must(t, err)
	if len(arts) != 1 || arts[0].Provider != "aws" {
		t.Errorf("artifacts %+v, want aws only", arts)
	}
	if !strings.Contains(log.String(), "gcp: no Packer output") {
		t.Errorf("no note for gcp: %q", log.String())
	}
}

func TestOnlySelectedProvidersAreConverted(t *testing.T) {
	cfg := testConfig(t)
	makeOVA(t, packerOutput(t, cfg, "aws", "ova"), cfg.Tree().BaseName("aws"))
	makeOVA(t, packerOutput(t, cfg, "virtualbox", "ova"), cfg.Tree().BaseName("virtualbox"))
	arts, err := Run(context.Background(), cfg, selectOnly(t, "virtualbox"), Options{})
	must(t, err)
	for _, a := range arts {
		if a.Provider != "virtualbox" {
			t.Errorf("converted %s, not selected", a.Path)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.Root, cfg.Tree().ArtifactDir("aws"))); err == nil {
		t.Error("aws artifact folder created although aws was not selected")
	}
}

// TestDamagedDiskFailsNamingItAndLeavesNothing: a damaged input fails its
// conversion naming it, and leaves no file and no provider folder.
func TestDamagedDiskFailsNamingItAndLeavesNothing(t *testing.T) {
	cfg := testConfig(t)
	// aws: an OVA cut in the middle of its disk.
	ova := packerOutput(t, cfg, "aws", "ova")
	makeOVA(t, ova, cfg.Tree().BaseName("aws"))
	st, _ := os.Stat(ova)
	must(t, os.Truncate(ova, st.Size()/2))
	// azure, gcp, openstack: qcow2 files that are not whole.
	src := filepath.Join(t.TempDir(), "src.qcow2")
	guestDisk(t, src)
	data, err := os.ReadFile(src)
	must(t, err)
	for _, p := range []string{"azure", "gcp", "openstack"} {
		must(t, os.WriteFile(packerOutput(t, cfg, p, "qcow2"), data[:len(data)/3], 0o644))
	}
	// vmware box: fine; not part of this test.
	// An empty provider folder an older failed run left goes too.
	must(t, os.MkdirAll(filepath.Join(cfg.Root, cfg.Tree().ArtifactDir("azure")), 0o755))
	arts, err := Run(context.Background(), cfg, selectOnly(t, "aws,azure,gcp,openstack"), Options{})
	if err == nil {
		t.Fatalf("no error; artifacts %+v", arts)
	}
	for _, p := range []struct{ provider, ext string }{{"aws", "ova"}, {"azure", "qcow2"}, {"gcp", "qcow2"}, {"openstack", "qcow2"}} {
		if !strings.Contains(err.Error(), packerOutput(t, cfg, p.provider, p.ext)) {
			t.Errorf("error does not name the %s input:\n%v", p.provider, err)
		}
		// Not even an empty provider folder: the tree's scan, checksums and
		// catalog fail on one.
		if _, err := os.Stat(filepath.Join(cfg.Root, cfg.Tree().ArtifactDir(p.provider))); !os.IsNotExist(err) {
			t.Errorf("%s: the provider folder is there after a failed conversion (%v)", p.provider, err)
		}
	}
	if len(arts) != 0 {
		t.Errorf("artifacts from damaged inputs: %+v", arts)
	}
	if folders, err := tree.Scan(filepath.Join(cfg.Root, tree.ArtifactsDir)); err != nil || len(folders) != 0 {
		t.Errorf("tree.Scan after failed conversions = %+v, %v; want nothing", folders, err)
	}
}

// TestLeftoversOfAKilledRunAreRemoved: a run killed before its clean-up
// leaves its temporary folder beside the provider folders (hidden, and no
// provider folder: that is made only for a whole output); the next run
// removes it, and those older versions left in the provider folder, but
// keeps the folder of a conversion whose process still runs.
func TestLeftoversOfAKilledRunAreRemoved(t *testing.T) {
	cfg := testConfig(t)
	makeOVA(t, packerOutput(t, cfg, "aws", "ova"), cfg.Tree().BaseName("aws"))
	outDir := filepath.Join(cfg.Root, cfg.Tree().ArtifactDir("aws"))
	workDir := filepath.Dir(outDir)
	must(t, os.MkdirAll(outDir, 0o755))

	gone := exec.Command("true")
	must(t, gone.Run())
	running := exec.Command("sleep", "60")
	must(t, running.Start())
	defer func() { running.Process.Kill(); running.Wait() }()

	final := cfg.Tree().ArtifactName("aws", "ova")
	dead := filepath.Join(workDir, fmt.Sprintf(".convert-%s-%d-123", final, gone.Process.Pid))
	deadOld := filepath.Join(outDir, fmt.Sprintf(".convert-%s-%d-789", final, gone.Process.Pid))
	alive := filepath.Join(workDir, fmt.Sprintf(".convert-%s-%d-456", final, running.Process.Pid))
	for _, d := range []string{dead, deadOld, alive} {
		must(t, os.MkdirAll(d, 0o755))
		must(t, os.WriteFile(filepath.Join(d, final), []byte("half"), 0o644))
	}
	if folders, err := tree.Scan(filepath.Join(cfg.Root, tree.ArtifactsDir)); err != nil || len(folders) != 1 {
		t.Errorf("tree.Scan with leftovers = %+v, %v; want the aws folder only", folders, err)
	}

	var log bytes.Buffer
	_, err := Run(context.Background(), cfg, selectOnly(t, "aws"), Options{Log: &log})
	must(t, err)
	for _, d := range []string{dead, deadOld} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("the killed run's folder %s is still there (%v); log:\n%s", d, err, log.String())
		}
	}
	if _, err := os.Stat(alive); err != nil {
		t.Errorf("the running conversion's folder was removed: %v", err)
	}
	if !strings.Contains(log.String(), "left by an interrupted run") {
		t.Errorf("the removal is not logged:\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Join(outDir, final)); err != nil {
		t.Errorf("the conversion itself did not happen: %v", err)
	}
}

// TestOvftoolHashesTheOVAManifestWithTheSitesVMwareSHA checks that the
// site's vmware_sha reaches ovftool as --shaAlgorithm, beside the original
// project's --diskMode=thin and --compress=1. OVF Tool is a
// proprietary download no test machine has, so an ovftool on PATH records
// its arguments and writes the OVA; the command line is what is checked.
func TestOvftoolHashesTheOVAManifestWithTheSitesVMwareSHA(t *testing.T) {
	for _, hash := range []string{"sha1", "sha512"} {
		t.Run(hash, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Site.VMwareSHA = hash
			vmx := packerOutput(t, cfg, "vmware", "vmx")
			must(t, os.WriteFile(vmx, []byte(`scsi0:0.fileName = "disk.vmdk"`+"\n"), 0o644))
			sh(t, "", "qemu-img", "create", "-q", "-f", "vmdk", filepath.Join(filepath.Dir(vmx), "disk.vmdk"), "1M") // a real one: disks are checked first
			bin := t.TempDir()
			argsFile := filepath.Join(t.TempDir(), "args")
			script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argsFile + "\nfor last; do :; done\necho ova > \"$last\"\n"
			must(t, os.WriteFile(filepath.Join(bin, "ovftool"), []byte(script), 0o755))
			t.Setenv("PATH", bin+string(os.PathListSeparator)+withoutOvftool(t))
			if _, err := Run(context.Background(), cfg, selectOnly(t, "vmware"), Options{}); err != nil {
				// the box needs the VMX: not part of this test
				t.Logf("run: %v", err)
			}
			args, err := os.ReadFile(argsFile)
			must(t, err)
			lines := strings.Split(strings.TrimSpace(string(args)), "\n")
			if want := []string{"--acceptAllEulas", "--diskMode=thin", "--compress=1", "--shaAlgorithm=" + hash, vmx}; len(lines) != 6 || !slices.Equal(lines[:5], want) {
				t.Errorf("ovftool arguments:\n%s\nwant %s <ova>", args, strings.Join(want, " "))
			}
		})
	}
}
