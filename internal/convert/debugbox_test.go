package convert

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/catalog"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sshkeys"
	"gold-standard-images/internal/tree"
	"gold-standard-images/test/fixture"
)

// TestDebugBoxesGetTheVagrantUserOnACopyAndLeaveTheBuildsDisksAlone makes
// the debug boxes of azure (libvirt, from a qcow2; openstack's are made the
// same way), aws (virtualbox, from an OVA) and vmware (vmware_desktop, from
// a VMX and a disk split into 2 GB extents) from the real Debian fixture
// guest, then opens their disks read-only with a second guestfish: the
// vagrant user, its key (0700 .ssh, 0600 authorized_keys, owned by vagrant)
// and its sudoers drop-in (0440, root) are there, the azure VHD that ships
// has none of them, and the Packer outputs and the fixture are byte for
// byte as before. Then `vagrant box add` takes the three debug catalogs.
func TestDebugBoxesGetTheVagrantUserOnACopyAndLeaveTheBuildsDisksAlone(t *testing.T) {
	need(t, "guestfish", "qemu-img", "vagrant")
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Minute)
	defer cancel()
	accel, err := kvm.Choose(ctx, os.Getenv, "")
	must(t, err)
	base, baseSum := fixture.Image(ctx, t, accel)

	cfg := testConfig(t)
	_, err = sshkeys.Ensure(filepath.Join(cfg.Root, "keys"), "vagrant")
	must(t, err)
	pub, err := os.ReadFile(filepath.Join(cfg.Root, "keys", "vagrant.pub"))
	must(t, err)
	azureIn := packerOutput(t, cfg, "azure", "qcow2")
	sh(t, "", "qemu-img", "convert", "-f", "qcow2", "-O", "qcow2", base, azureIn) // standing alone: a backing file is refused
	awsIn := packerOutput(t, cfg, "aws", "ova")
	makeOVAOf(t, awsIn, cfg.Tree().BaseName("aws"), base, "qcow2")
	vmwareIn := packerOutput(t, cfg, "vmware", "vmx")
	must(t, os.WriteFile(vmwareIn, []byte("displayName = \"fixture\"\nguestOS = \"centos7-64\"\nscsi0.present = \"TRUE\"\nscsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"disk.vmdk\"\n"), 0o644))
	sh(t, "", "qemu-img", "convert", "-f", "qcow2", "-O", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", base, filepath.Join(filepath.Dir(vmwareIn), "disk.vmdk"))
	extents, err := filepath.Glob(filepath.Join(filepath.Dir(vmwareIn), "disk-s*.vmdk"))
	must(t, err)
	if len(extents) == 0 {
		t.Fatal("qemu-img made no split disk for the vmware input")
	}
	inputs := map[string]string{}
	for _, p := range append([]string{azureIn, awsIn, vmwareIn}, extents...) {
		inputs[p] = fixture.FileSHA256(t, p)
	}

	start := time.Now()
	var log bytes.Buffer
	arts, err := Run(ctx, cfg, selectOnly(t, "aws,azure,vmware"), Options{Log: &log})
	if err != nil {
		t.Fatalf("convert: %v\n%s", err, log.String())
	}
	boxes, err := Run(ctx, cfg, selectOnly(t, "aws,azure,vmware"), Options{Log: &log, DebugBoxes: true})
	if err != nil {
		t.Fatalf("debug boxes: %v\n%s", err, log.String())
	}
	arts = append(arts, boxes...)
	t.Logf("convert aws, azure, vmware (three debug boxes) in %s:\n%s", time.Since(start).Round(time.Second), log.String())
	var got []string
	for _, a := range arts {
		got = append(got, a.Provider+" "+string(a.Kind)+" "+filepath.Base(a.Path))
	}
	slices.Sort(got) // two runs: the artifacts, then the debug boxes
	want := []string{
		"aws box CentOS-7.9.2009-1.2.3_aws.box", "aws disk CentOS-7.9.2009-1.2.3_aws.ova",
		"azure box CentOS-7.9.2009-1.2.3_azure.box", "azure disk CentOS-7.9.2009-1.2.3_azure.vhd",
		"vmware box CentOS-7.9.2009-1.2.3_vmware.box", "vmware disk CentOS-7.9.2009-1.2.3_vmware.ova",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("artifacts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for p, sum := range inputs {
		if now := fixture.FileSHA256(t, p); now != sum {
			t.Errorf("the Packer output %s changed (sha256 %s, was %s)", p, now, sum)
		}
	}
	if now := fixture.FileSHA256(t, base); now != baseSum {
		t.Errorf("the fixture image changed (sha256 %s, was %s)", now, baseSum)
	}

	// The boxes' disks, and the VHD that ships, opened read-only.
	dir := t.TempDir()
	lv := boxMembers(t, artifactPath(cfg, "azure", "box"))
	if !bytes.Contains(lv["metadata.json"], []byte(`"provider":"libvirt"`)) {
		t.Errorf("azure debug box metadata.json = %s", lv["metadata.json"])
	}
	vb := boxMembers(t, artifactPath(cfg, "aws", "box"))
	vmdkName := cfg.Tree().BaseName("aws") + "-disk001.vmdk"
	if string(vb["metadata.json"]) != `{"provider":"virtualbox"}`+"\n" || vb[vmdkName] == nil || !bytes.Contains(vb["box.ovf"], []byte(vmdkName)) {
		t.Errorf("aws debug box: metadata %s, members %v", vb["metadata.json"], keys(vb))
	}
	if bytes.Contains(vb["box.ovf"], []byte("ovf:size=")) {
		t.Errorf("aws debug box: box.ovf keeps the size of the disk it replaced:\n%s", vb["box.ovf"])
	}
	vw := boxMembers(t, artifactPath(cfg, "vmware", "box"))
	if string(vw["metadata.json"]) != `{"provider":"vmware_desktop"}`+"\n" || vw["disk.vmdk"] == nil || vw[filepath.Base(vmwareIn)] == nil {
		t.Errorf("vmware debug box: metadata %s, members %v", vw["metadata.json"], keys(vw))
	}
	for name := range vw {
		if strings.HasPrefix(name, "disk-") {
			t.Errorf("vmware debug box: it keeps %s, an extent of the disk it replaced with one file", name)
		}
	}
	img, vmdk, vmwareDisk := filepath.Join(dir, "box.img"), filepath.Join(dir, "box.vmdk"), filepath.Join(dir, "disk.vmdk")
	must(t, os.WriteFile(img, lv["box.img"], 0o644))
	must(t, os.WriteFile(vmdk, vb[vmdkName], 0o644))
	must(t, os.WriteFile(vmwareDisk, vw["disk.vmdk"], 0o644))
	checks := []string{"statns /home/vagrant/.ssh", "statns /home/vagrant/.ssh/authorized_keys", "statns /etc/sudoers.d/vagrant",
		"cat /home/vagrant/.ssh/authorized_keys", "cat /etc/sudoers.d/vagrant", "grep ^vagrant: /etc/passwd"}
	var script strings.Builder
	script.WriteString("run\n")
	for i, dev := range []string{"/dev/sda1", "/dev/sdb1", "/dev/sdd1"} {
		if i > 0 {
			script.WriteString("umount /\n")
		}
		script.WriteString("mount-ro " + dev + " /\n")
		for _, c := range checks {
			script.WriteString("echo ==" + dev + " " + c + "\n" + c + "\n")
		}
	}
	script.WriteString("umount /\nmount-ro /dev/sdc1 /\necho ==vhd\nexists /home/vagrant\nexists /etc/sudoers.d/vagrant\nexists /etc/passwd\n")
	env, _, err := (&job{getenv: os.Getenv}).libguestfsEnv(ctx)
	must(t, err)
	var out bytes.Buffer
	err = run.Run(ctx, run.Cmd{
		Name: "guestfish", Args: []string{"--ro", "--format=qcow2", "-a", img, "--format=vmdk", "-a", vmdk, "--format=vpc", "-a", artifactPath(cfg, "azure", "vhd"), "--format=vmdk", "-a", vmwareDisk},
		Stdin: strings.NewReader(script.String()), Env: env, Output: &out, Timeout: 15 * time.Minute,
	})
	if err != nil {
		t.Fatalf("guestfish reading the boxes' disks: %v\n%s", err, out.String())
	}
	sections := map[string]string{}
	var name string
	for _, line := range strings.SplitAfter(out.String(), "\n") {
		if strings.HasPrefix(line, "==") {
			name = strings.TrimSpace(strings.TrimPrefix(line, "=="))
			continue
		}
		sections[name] += line
	}
	for _, dev := range []string{"/dev/sda1", "/dev/sdb1", "/dev/sdd1"} {
		passwd := strings.Split(strings.TrimSpace(sections[dev+" grep ^vagrant: /etc/passwd"]), ":")
		if len(passwd) != 7 || passwd[5] != "/home/vagrant" || passwd[6] != "/bin/bash" {
			t.Errorf("%s: vagrant in /etc/passwd: %q", dev, sections[dev+" grep ^vagrant: /etc/passwd"])
			continue
		}
		uid, gid := passwd[2], passwd[3]
		for _, f := range []struct {
			path     string
			mode     int64
			uid, gid string
		}{
			{"/home/vagrant/.ssh", 0o40700, uid, gid},
			{"/home/vagrant/.ssh/authorized_keys", 0o100600, uid, gid},
			{"/etc/sudoers.d/vagrant", 0o100440, "0", "0"},
		} {
			st := sections[dev+" statns "+f.path]
			if mode := statField(st, "st_mode"); mode != strconv.FormatInt(f.mode, 10) || statField(st, "st_uid") != f.uid || statField(st, "st_gid") != f.gid {
				t.Errorf("%s: %s: mode %s uid %s gid %s, want mode %o uid %s gid %s", dev, f.path, mode, statField(st, "st_uid"), statField(st, "st_gid"), f.mode, f.uid, f.gid)
			}
		}
		if keys := sections[dev+" cat /home/vagrant/.ssh/authorized_keys"]; strings.TrimSpace(keys) != strings.TrimSpace(string(pub)) {
			t.Errorf("%s: authorized_keys = %q, want keys/vagrant.pub %q", dev, keys, pub)
		}
		if !strings.Contains(sections[dev+" cat /etc/sudoers.d/vagrant"], "\nvagrant ALL=(ALL) NOPASSWD: ALL\n") {
			t.Errorf("%s: /etc/sudoers.d/vagrant:\n%s", dev, sections[dev+" cat /etc/sudoers.d/vagrant"])
		}
	}
	if got := strings.Fields(sections["vhd"]); strings.Join(got, " ") != "false false true" {
		t.Errorf("the azure VHD that ships: /home/vagrant, /etc/sudoers.d/vagrant, /etc/passwd exist: %v, want false false true", got)
	}

	// The debug catalogs, and vagrant takes them.
	artifacts := filepath.Join(cfg.Root, tree.ArtifactsDir)
	res, err := catalog.Write(ctx, artifacts, catalog.Options{Namespace: "gold"})
	must(t, err)
	var files []string
	for _, r := range res {
		files = append(files, filepath.Base(r.Path))
	}
	if strings.Join(files, " ") != "CentOS-7.9.2009-aws.json CentOS-7.9.2009-azure.json CentOS-7.9.2009-vmware.json" {
		t.Fatalf("catalogs %v, want CentOS-7.9.2009-aws.json CentOS-7.9.2009-azure.json CentOS-7.9.2009-vmware.json (and no main catalog: no build has a box of its own)", files)
	}
	home := t.TempDir()
	for _, r := range res {
		start := time.Now()
		out.Reset()
		err := run.Run(ctx, run.Cmd{
			Name: "vagrant", Args: []string{"box", "add", r.Path},
			Env:    []string{"VAGRANT_HOME=" + home, "VAGRANT_CHECKPOINT_DISABLE=1", "VAGRANT_NO_COLOR=1"},
			Output: &out, Timeout: 10 * time.Minute,
		})
		if err != nil {
			t.Errorf("vagrant box add %s: %v\n%s", filepath.Base(r.Path), err, out.String())
			continue
		}
		t.Logf("vagrant box add %s: %s", filepath.Base(r.Path), time.Since(start).Round(time.Second))
	}
	out.Reset()
	must(t, run.Run(ctx, run.Cmd{Name: "vagrant", Args: []string{"box", "list"}, Env: []string{"VAGRANT_HOME=" + home, "VAGRANT_CHECKPOINT_DISABLE=1"}, Output: &out, Timeout: 2 * time.Minute}))
	list := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{"gold/CentOS-7.9.2009-aws (virtualbox, 1.2.3", "gold/CentOS-7.9.2009-azure (libvirt, 1.2.3", "gold/CentOS-7.9.2009-vmware (vmware_desktop, 1.2.3"} {
		if !strings.Contains(list, want) {
			t.Errorf("vagrant box list lacks %q:\n%s", want, out.String())
		}
	}
}

// statField is one field of guestfish's statns output.
func statField(statns, field string) string {
	m := regexp.MustCompile(`(?m)^` + field + `: (-?\d+)$`).FindStringSubmatch(statns)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestAVagrantKeyThatIsNotOnePublicKeyLineIsRefusedNamingTheFile: the key
// goes into a shell script inside a guestfish string, so anything but one
// OpenSSH public key line is refused before any guest is touched.
func TestAVagrantKeyThatIsNotOnePublicKeyLineIsRefusedNamingTheFile(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		ok        bool
	}{
		{"ed25519 with comment", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9v vagrant@gold\n", true},
		{"rsa without comment", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ==", true},
		{"ecdsa", "ecdsa-sha2-nistp256 AAAAE2VjZHNh user", true},
		{"a quote in the comment", "ssh-ed25519 AAAA x'; rm -rf /; '", false},
		{"two keys", "ssh-ed25519 AAAA a\nssh-ed25519 BBBB b\n", false},
		{"a private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vagrant.pub")
			must(t, os.WriteFile(path, []byte(tc.key), 0o644))
			key, err := readVagrantKey(path)
			if tc.ok && (err != nil || key != strings.TrimSpace(tc.key)) {
				t.Errorf("readVagrantKey = %q, %v; want the key", key, err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), path)) {
				t.Errorf("readVagrantKey = %q, %v; want an error naming %s", key, err, path)
			}
		})
	}
	if _, err := readVagrantKey(filepath.Join(t.TempDir(), "keys", "vagrant.pub")); err == nil || !strings.Contains(err.Error(), "mage keys") {
		t.Errorf("a missing key: %v; want an error saying `mage keys` makes it", err)
	}
}

func TestGuestfishQuoteKeepsTheScriptOneArgument(t *testing.T) {
	got := guestfishQuote("a \"b\" \\c\nd\te")
	if want := `"a \"b\" \\c\nd\te"`; got != want {
		t.Errorf("guestfishQuote = %s, want %s", got, want)
	}
}

// The artifacts the platforms take are made without a debug box: on a disk
// in which guestfish would find no operating system, and with no
// keys/vagrant.pub, the azure VHD and the gcp tarball are made. Asked for
// apart, the debug boxes fail naming the missing key, and the platform
// artifacts stay as they are.
func TestThePlatformArtifactsNeedNeitherAnOSOnTheDiskNorTheVagrantKey(t *testing.T) {
	need(t, "qemu-img")
	cfg := testConfig(t)
	for _, p := range []string{"azure", "gcp"} {
		sh(t, "", "qemu-img", "create", "-q", "-f", "qcow2", packerOutput(t, cfg, p, "qcow2"), "8M")
	}
	var log bytes.Buffer
	arts, err := Run(t.Context(), cfg, selectOnly(t, "azure,gcp"), Options{Log: &log})
	if err != nil {
		t.Fatalf("converting a disk with no OS and no keys/: %v\n%s", err, log.String())
	}
	var got []string
	for _, a := range arts {
		got = append(got, filepath.Base(a.Path))
	}
	want := []string{cfg.Tree().ArtifactName("azure", "vhd"), cfg.Tree().ArtifactName("gcp", "tar.gz")}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("made %q, want %q and no box", got, want)
	}
	vhd := artifactPath(cfg, "azure", "vhd")
	before, err := os.Stat(vhd)
	must(t, err)
	_, err = Run(t.Context(), cfg, selectOnly(t, "azure,gcp"), Options{Log: &log, DebugBoxes: true})
	if err == nil || !strings.Contains(err.Error(), filepath.Join("keys", "vagrant.pub")) {
		t.Fatalf("debug boxes without keys/vagrant.pub: %v; want an error naming it", err)
	}
	after, err := os.Stat(vhd)
	if err != nil || !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		t.Fatalf("a failed debug box touched the VHD: %v", err)
	}
	if _, err := os.Stat(artifactPath(cfg, "azure", "box")); !os.IsNotExist(err) {
		t.Fatalf("a failed debug box left a box: %v", err)
	}
}
