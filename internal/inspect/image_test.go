package inspect

import (
	"strings"
	"testing"
)

// elImage is an EL 9-like image as the gatherers would read it.
func elImage() *Image {
	return &Image{
		Distro: "rocky", Family: RHEL,
		Files: map[string]string{
			"/etc/shadow":                      "root:!$6$secrethash:19000:0:99999:7:::\nbin:*:1::::::\n",
			"/etc/ssh/sshd_config":             "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\nMatch User x\nPermitRootLogin yes\n",
			"/etc/ssh/sshd_config.d/50-a.conf": "PasswordAuthentication no\n",
			"/etc/ssh/sshd_config.d/60-b.conf": "PasswordAuthentication yes\nPermitRootLogin=prohibit-password\n",
			"/root/.ssh/authorized_keys":       "# none\n",
			"/boot/loader/entries/a-5.14.conf": "title Rocky\nlinux /vmlinuz-5.14\noptions root=/dev/vda1 console=ttyS0,38400n8 $extra\n",
			"/boot/grub2/grub.cfg":             "insmod blscfg\nblscfg\n",
			"/etc/default/grub":                "GRUB_TIMEOUT=1\nGRUB_CMDLINE_LINUX=\"console=ttyS0,38400n8 crashkernel=auto\"\n",
			"/etc/fstab":                       "/dev/vda1 / xfs defaults 0 0\n#/dev/vda2 none swap defaults 0 0\n",
		},
		Paths: []string{"/etc/ssh/sshd_config.d/60-b.conf", "/etc/ssh/sshd_config.d/50-a.conf", "/boot/loader/entries/a-5.14.conf", "/boot/grub2/grub.cfg",
			"/etc/systemd/system/multi-user.target.wants/google-guest-agent.service"},
		Packages: map[string]bool{"google-guest-agent": true, "kernel": true},
		Kernels: []Kernel{{Version: "5.14", Initramfs: "/boot/initramfs-5.14.img",
			Modules: map[string]bool{"virtio_scsi": true, "nvme": true}, Builtin: map[string]bool{"virtio_pci": true},
			Shipped: map[string]bool{"virtio_scsi": true, "nvme": true, "virtio_pci": true, "xen_blkfront": true}}},
	}
}

func TestEachKindOfRuleHoldsOrSaysWhyNot(t *testing.T) {
	for _, tc := range []struct {
		rule Rule
		want string // "" holds; else a part of the error
	}{
		{Rule{Kind: RootLocked}, ""},
		{Rule{Kind: SSHD, Args: []string{"PasswordAuthentication", "no"}}, ""},
		{Rule{Kind: SSHD, Args: []string{"PermitRootLogin", "prohibit-password"}}, ""},
		{Rule{Kind: SSHD, Args: []string{"UseDNS", "no"}}, "UseDNS is not set"},
		{Rule{Kind: SSHD, Args: []string{"PasswordAuthentication", "yes"}}, "/etc/ssh/sshd_config.d/50-a.conf line 1"},
		{Rule{Kind: NoBuildKey}, ""},
		{Rule{Kind: KernelArgs, Args: []string{"console=ttyS0,38400n8"}}, ""},
		{Rule{Kind: KernelArgs, Args: []string{"console=ttyS0", "net.ifnames=0"}}, "a-5.14.conf line 3 lacks console=ttyS0 net.ifnames=0; /etc/default/grub line 2 lacks"},
		{Rule{Kind: NoKernelArgs, Args: []string{"rhgb", "quiet"}}, ""},
		{Rule{Kind: NoKernelArgs, Args: []string{"crashkernel=auto"}}, "/etc/default/grub line 2 has crashkernel=auto"},
		{Rule{Kind: InitramfsModules, Args: []string{"virtio_scsi", "nvme", "virtio_pci"}}, ""},
		{Rule{Kind: InitramfsModules, Args: []string{"hv_storvsc", "nvme"}}, "/boot/initramfs-5.14.img lacks hv_storvsc"},
		{Rule{Kind: InitramfsModulesShipped, Args: []string{"ena", "nvme"}}, ""},
		{Rule{Kind: InitramfsModulesShipped, Args: []string{"ena", "xen_blkfront"}}, "lacks xen_blkfront"},
		{Rule{Kind: UnitEnabled, Args: []string{"google-guest-agent.service"}}, ""},
		{Rule{Kind: UnitEnabled, Args: []string{"waagent.service"}}, "waagent.service is not enabled"},
		{Rule{Kind: Installed, Args: []string{"google-guest-agent", "WALinuxAgent"}}, "not installed: WALinuxAgent"},
		{Rule{Kind: NotInstalled, Args: []string{"gcc", "kernel"}}, "installed: kernel"},
		{Rule{Kind: FileLacks, Args: []string{"/etc/fstab", `^\s*[^#]\S*\s+\S+\s+swap\s`}}, ""},
		{Rule{Kind: FileLacks, Args: []string{"/etc/fstab", `xfs`}}, "/etc/fstab line 1 matches"},
		{Rule{Kind: FileHas, Args: []string{"/etc/waagent.conf", `x`}}, "/etc/waagent.conf is missing"},
		{Rule{Kind: FileExists, Args: []string{"/etc/fstab"}}, ""},
		{Rule{Kind: NoFiles, Args: []string{"/etc/ssh/sshd_config.d/*"}}, "found /etc/ssh/sshd_config.d/60-b.conf, /etc/ssh/sshd_config.d/50-a.conf"},
		{Rule{Kind: NotInRootfs, Args: []string{"/boot"}}, "found /boot/loader/entries/a-5.14.conf, /boot/grub2/grub.cfg"},
		{Rule{Kind: NotInRootfs, Args: []string{"/lib/modules"}}, ""},
	} {
		err := elImage().Check(tc.rule, "")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %q: %v, want it to hold", tc.rule.Kind, tc.rule.Args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %q: %v, want an error with %q", tc.rule.Kind, tc.rule.Args, err, tc.want)
		}
	}
}

func TestAnUnlockedRootIsBrokenWithoutQuotingTheHash(t *testing.T) {
	im := elImage()
	im.Files["/etc/shadow"] = "root:$6$secrethash:19000::::::\n"
	err := im.Check(Rule{Kind: RootLocked}, "")
	if err == nil || strings.Contains(err.Error(), "secrethash") {
		t.Fatalf("got %v, want an error that does not quote the hash", err)
	}
}

func TestTheBuildKeyInRootsAuthorizedKeysIsBroken(t *testing.T) {
	build := "ssh-ed25519 AAAAbuildkey packer"
	for keys, holds := range map[string]bool{
		"":                                    true,
		"ssh-ed25519 AAAAother someone\n":     true,
		"no-pty ssh-ed25519 AAAAbuildkey x\n": false,
	} {
		im := elImage()
		im.Files["/root/.ssh/authorized_keys"] = keys
		if err := im.Check(Rule{Kind: NoBuildKey}, build); (err == nil) != holds {
			t.Errorf("authorized_keys %q: %v, want holds=%v", keys, err, holds)
		}
	}
	im := elImage()
	im.Files["/root/.ssh/authorized_keys"] = "ssh-rsa AAAAany x\n"
	if err := im.Check(Rule{Kind: NoBuildKey}, ""); err == nil {
		t.Error("without a build key, any key in root's authorized_keys must break the rule")
	}
}

// holdsOrSays checks that err is nil when want is empty, else that it
// holds want.
func holdsOrSays(t *testing.T, name string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v, want it to hold", name, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: %v, want an error with %q", name, err, want)
	}
}

func TestAKnownKeyInAnyAccountsAuthorizedKeysIsBroken(t *testing.T) {
	site := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGsitevagrantkey vagrant@site"
	for _, tc := range []struct {
		name, file, keys string
		want             string // "" holds; else a part of the error
	}{
		{"no keys at all", "/home/centos/.ssh/authorized_keys", "", ""},
		{"a key of nobody's", "/home/centos/.ssh/authorized_keys", "ssh-ed25519 AAAAC3other someone\n", ""},
		{"the site's vagrant key", "/home/vagrant/.ssh/authorized_keys", "# vagrant\n" + site + "\n", `/home/vagrant/.ssh/authorized_keys line 2 holds the known key "ssh-ed25519 AAAAC3Nz...grantkey vagrant@site"`},
		{"Vagrant's insecure RSA key with options, in authorized_keys2", "/srv/deploy/.ssh/authorized_keys2", `no-pty,from="10.0.0.1" ` + VagrantInsecureKeys[0] + "\n", "/srv/deploy/.ssh/authorized_keys2 line 1 holds the known key \"ssh-rsa"},
		{"Vagrant's insecure ed25519 key in root's", "/root/.ssh/authorized_keys", strings.Replace(VagrantInsecureKeys[1], "vagrant insecure public key", "renamed", 1), "vagrant insecure public key"},
		{"a file that is not authorized_keys", "/home/vagrant/.ssh/known_hosts", site + "\n", ""},
	} {
		im := elImage()
		im.Files[tc.file] = tc.keys
		err := im.Check(Rule{Kind: NoKnownKey}, "", site)
		holdsOrSays(t, tc.name, err, tc.want)
	}
}

func TestSudoWithoutAPasswordAnywhereInSudoersIsBroken(t *testing.T) {
	el := "Defaults   !visiblepw\nroot\tALL=(ALL) \tALL\n%wheel\tALL=(ALL)\tALL\n# %wheel\tALL=(ALL)\tNOPASSWD: ALL\n#includedir /etc/sudoers.d\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // "" holds; else a part of the error
	}{
		{"EL's sudoers, NOPASSWD only in a comment", map[string]string{"/etc/sudoers": el}, ""},
		{"no sudo installed", map[string]string{}, ""},
		{"a vagrant drop-in", map[string]string{"/etc/sudoers": el, "/etc/sudoers.d/vagrant": "Defaults:vagrant !requiretty\nvagrant ALL=(ALL) NOPASSWD: ALL\n"},
			"/etc/sudoers.d/vagrant line 2: vagrant ALL=(ALL) NOPASSWD: ALL"},
		{"in the main file, on a continued line", map[string]string{"/etc/sudoers": el + "ops ALL=(ALL) \\\n  NOPASSWD:ALL\n"}, "/etc/sudoers line 6: ops ALL=(ALL)"},
		{"authentication turned off", map[string]string{"/etc/sudoers": el, "/etc/sudoers.d/10-ops": "Defaults:%ops !authenticate\n"}, "/etc/sudoers.d/10-ops line 1"},
	} {
		im := elImage()
		for f, text := range tc.files {
			im.Files[f] = text
		}
		err := im.Check(Rule{Kind: NoPasswordlessSudo}, "")
		holdsOrSays(t, tc.name, err, tc.want)
	}
}

func TestTheAuthorizedKeysReadAreThoseOfEveryHomeInPasswd(t *testing.T) {
	passwd := "root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\nnobody:x:65534:65534::/:/sbin/nologin\ncentos:x:1000:1000::/home/centos:/bin/bash\ndeploy:x:990:990::/srv/deploy/:/bin/sh\nbroken line\n"
	got := strings.Join(keyFilesOf(passwd), " ")
	want := "/bin/.ssh/authorized_keys /bin/.ssh/authorized_keys2 /home/centos/.ssh/authorized_keys /home/centos/.ssh/authorized_keys2 /root/.ssh/authorized_keys /root/.ssh/authorized_keys2 /srv/deploy/.ssh/authorized_keys /srv/deploy/.ssh/authorized_keys2"
	if got != want {
		t.Errorf("keyFilesOf:\n got %s\nwant %s", got, want)
	}
}

func TestEL8KerneloptsFromGrubenvCountAsTheEntrysArguments(t *testing.T) {
	im := elImage()
	im.Files["/boot/loader/entries/a-5.14.conf"] = "options $kernelopts\n"
	im.Files[grubEnv] = "# GRUB Environment Block\nkernelopts=root=/dev/vda1 console=tty0 console=ttyS0,115200n8\n"
	im.Files[defaultGrub] = `GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8"` + "\n"
	if err := im.Check(Rule{Kind: KernelArgs, Args: []string{"console=tty0", "console=ttyS0,115200n8"}}, ""); err != nil {
		t.Error(err)
	}
}

// A container's root file system without sshd has nothing to listen
// with: the sshd rules hold. A disk image without sshd_config, or a root
// file system with one that lacks the setting, still breaks them.
func TestTheSSHDRulesHoldOnlyForAContainerWithoutSSHD(t *testing.T) {
	rule := Rule{Kind: SSHD, Args: []string{"PasswordAuthentication", "no"}}
	im := elImage()
	delete(im.Files, sshdConfig)
	holdsOrSays(t, "a disk without sshd_config", im.Check(rule, ""), "PasswordAuthentication is not set")
	im.Rootfs = true
	holdsOrSays(t, "a root file system without sshd_config", im.Check(rule, ""), "")
	im.Files[sshdConfig] = "Port 22\n"
	holdsOrSays(t, "a root file system whose sshd_config lacks it", im.Check(rule, ""), "PasswordAuthentication is not set")
}
