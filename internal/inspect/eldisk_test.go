package inspect

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// elDisk writes a small qcow2 disk laid out as an EL 9 gcp image would be
// after provisioning (os-release, BLS entry with GRUB's kernelopts, GRUB
// defaults, an early-microcode + xz initramfs with virtio_scsi and nvme,
// modules.builtin with virtio_pci, an enabled google-guest-agent, the
// sysctl and MTU files, a locked root, the original's sshd settings), but
// with no rpm database, without virtio_net and with crashkernel=auto still
// in GRUB's defaults: the Table's gcp rules must tell which hold.
func elDisk(t *testing.T) string {
	for _, tool := range []string{"qemu-img", "sfdisk", "mkfs.ext4", "guestfish"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("this test needs %s (apt-get install qemu-utils fdisk e2fsprogs libguestfs-tools): %v", tool, err)
			}
			t.Skipf("%s missing: %v", tool, err)
		}
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	kver := "5.14.0-427.el9.x86_64"
	initramfs := append(cpio("kernel/x86/microcode/GenuineIntel.bin"),
		compress(t, "xz", cpio("usr/lib/modules/"+kver+"/kernel/drivers/scsi/virtio_scsi.ko.xz", "usr/lib/modules/"+kver+"/kernel/drivers/nvme/host/nvme.ko.xz"))...)
	files := map[string]string{
		"etc/os-release":                                    "NAME=\"Rocky Linux\"\nVERSION_ID=\"9.4\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n",
		"etc/redhat-release":                                "Rocky Linux release 9.4 (Blue Onyx)\n",
		"etc/fstab":                                         "/dev/sda1 / ext4 defaults 0 1\n",
		"etc/shadow":                                        "root:!$6$abc$def:19000:0:99999:7:::\n",
		"etc/ssh/sshd_config":                               "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\nPermitRootLogin prohibit-password\nClientAliveInterval 420\nX11Forwarding no\n",
		"etc/gold-standard-image":                           "vm_name=Rocky-9.4\nversion=1.0.0\nbuild=gcp\n",
		"etc/default/grub":                                  "GRUB_CMDLINE_LINUX=\"crashkernel=auto console=ttyS0,38400n8\"\nGRUB_ENABLE_BLSCFG=true\n",
		"boot/grub2/grubenv":                                "# GRUB Environment Block\nkernelopts=root=/dev/sda1 ro console=ttyS0,38400n8\n",
		"boot/grub2/grub.cfg":                               "insmod blscfg\nblscfg\n",
		"boot/loader/entries/abc-" + kver + ".conf":         "title Rocky Linux\nlinux /boot/vmlinuz-" + kver + "\ninitrd /boot/initramfs-" + kver + ".img\noptions $kernelopts\n",
		"boot/vmlinuz-" + kver:                              "kernel",
		"boot/initramfs-" + kver + ".img":                   string(initramfs),
		"usr/lib/modules/" + kver + "/modules.builtin":      "kernel/drivers/virtio/virtio_pci.ko\n",
		"usr/lib/modules/" + kver + "/modules.dep":          "kernel/drivers/scsi/virtio_scsi.ko.xz:\n",
		"usr/lib/systemd/system/google-guest-agent.service": "[Unit]\n",
		"etc/sysctl.d/60-gsi-gcp.conf":                      "kernel.kptr_restrict = 1\n",
		"etc/NetworkManager/conf.d/60-gsi-gcp-mtu.conf":     "[connection]\nethernet.mtu=1460\n",
		"etc/dracut.conf.d/gsi-cloud.conf":                  "hostonly=\"no\"\n",
		"etc/sysconfig/network":                             "NOZEROCONF=yes\n",
		"usr/bin/.keep":                                     "", "usr/sbin/.keep": "",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	must(t, os.Symlink("usr/lib", filepath.Join(root, "lib")))
	must(t, os.Symlink("usr/bin", filepath.Join(root, "bin")))
	must(t, os.Symlink("usr/sbin", filepath.Join(root, "sbin")))
	wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants")
	must(t, os.MkdirAll(wants, 0o755))
	must(t, os.Symlink("/usr/lib/systemd/system/google-guest-agent.service", filepath.Join(wants, "google-guest-agent.service")))
	raw := filepath.Join(dir, "disk.raw")
	must(t, os.WriteFile(raw, nil, 0o644))
	must(t, os.Truncate(raw, 40<<20))
	cmd := exec.Command("sfdisk", "-q", raw)
	cmd.Stdin = strings.NewReader("start=2048, type=83\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v %s", err, out)
	}
	for _, args := range [][]string{
		{"mkfs.ext4", "-q", "-E", "offset=1048576", "-d", root, raw, "38M"},
		{"qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, filepath.Join(dir, "disk.qcow2")},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", args[0], err, out)
		}
	}
	return filepath.Join(dir, "disk.qcow2")
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestTheGCPRulesOnAnEL9LayoutHoldWhereTheDiskHasWhatTheyNeed(t *testing.T) {
	disk := elDisk(t)
	ctx := t.Context()
	var out strings.Builder
	start := time.Now()
	rep, err := Inspect(ctx, "gcp", Source{Path: disk, Format: "qcow2"}, "", Options{Out: &out})
	t.Logf("inspection in %s:\n%s", time.Since(start).Round(time.Second), out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Distro != "rocky" || rep.Family != RHEL {
		t.Fatalf("distro %q family %q, want rocky, rhel", rep.Distro, rep.Family)
	}
	broken := map[string]string{ // rule -> part of its error
		"initramfs has the virtio SCSI, net and PCI drivers and NVMe": "lacks virtio_net",
		"Google guest environment installed":                          "not installed: google-compute-engine, google-guest-agent",
		"no crashkernel=auto on the kernel line":                      "/etc/default/grub line 1 has crashkernel=auto",
	}
	for _, c := range rep.Checks {
		want, isBroken := broken[c.Rule.Name]
		switch {
		case isBroken && (c.Err == nil || !strings.Contains(c.Err.Error(), want)):
			t.Errorf("rule %q: %v, want an error with %q", c.Rule.Name, c.Err, want)
		case !isBroken && c.Err != nil:
			t.Errorf("rule %q: %v, want it to hold", c.Rule.Name, c.Err)
		}
	}
	if len(rep.Checks) != len(Select(Table, "gcp", RHEL)) {
		t.Errorf("%d rules checked, want the %d of gcp on EL", len(rep.Checks), len(Select(Table, "gcp", RHEL)))
	}
}
