package kickstart

import (
	"bytes"
	"strings"
	"testing"
)

// rendered renders the virtual/aws kickstart of one shipped (or UEFI test)
// target and returns it with the target.
func rendered(t *testing.T, vm string) (string, Target) {
	t.Helper()
	k := loadShipped(t)
	var buf bytes.Buffer
	if err := k.Render(&buf, "virtual/aws", vm, ""); err != nil {
		t.Fatal(err)
	}
	return buf.String(), k.targets[vm]
}

func TestCheckRejectsWhatAnacondaWouldRefuse(t *testing.T) {
	good, target := rendered(t, "CentOS-7.9.2009")
	if err := Check(good, target); err != nil {
		t.Fatalf("the rendered kickstart: %v", err)
	}
	cases := []struct {
		name, from, to, want string
	}{
		{"unknown command", "firstboot --disabled", "firstbot --disabled", `unknown RHEL 7 kickstart command "firstbot"`},
		{"unknown option", "selinux --disabled", "selinux --off", "selinux: unknown option --off"},
		{"plain password", "rootpw --iscrypted $6$", "rootpw --plaintext $6$", "rootpw: want --iscrypted"},
		{"missing command", "authconfig --enableshadow --passalgo=sha512\n", "", `command "authconfig": want it once, found 0`},
		{"repeated command", "selinux --disabled\n", "selinux --disabled\nlang en_US\n", `command "lang": want it once, found 2`},
		{"no install source", "url --url=https://vault.centos.org/7.9.2009/os/x86_64\n", "", "want exactly one url or cdrom"},
		{"relative url", "url --url=https://vault.centos.org", "url --url=vault.centos.org", "is not an absolute URL"},
		{"unclosed section", "system-config-firewall-base\n%end", "system-config-firewall-base\n", "%post begins before %packages"},
		{"undeclared volume group", "volgroup rootvg --pesize=32768 pv.01", "volgroup othervg --pesize=32768 pv.01", `volume group "rootvg" is not declared`},
		{"undeclared physical volume", "volgroup rootvg --pesize=32768 pv.01", "volgroup rootvg --pesize=32768 pv.02", `physical volume "pv.02" is not declared`},
		{"no root", "logvol / --vgname", "logvol /srv --vgname", "mount point /: want it once, found 0"},
		{"bad size", "--size=400", "--size=400M", `--size="400M" is not a size in MiB`},
		{"unclosed quote", `nouveau.modeset=0"`, "nouveau.modeset=0", "unclosed quote"},
		{"bad package", "\nman\n", "\nman pages\n", `"man pages" is not a package`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(good, c.from) {
				t.Fatalf("the kickstart lacks %q", c.from)
			}
			err := Check(strings.Replace(good, c.from, c.to, 1), target)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to say %q", err, c.want)
			}
		})
	}
}

// Each release's rules (pykickstart's RHEL8, RHEL9 and RHEL10 handlers):
// a kickstart that one family's template renders is refused where it uses
// what that release removed, deprecated or does not have yet.
func TestCheckAppliesTheRulesOfEachRelease(t *testing.T) {
	cases := []struct {
		name, vm, from, to, want string
	}{
		{"EL 8 has no install", "Rocky-8.10", "cmdline\n", "install\ncmdline\n", "install: deprecated from RHEL 8 on"},
		{"EL 8 has no unsupported_hardware", "Rocky-8.10", "cmdline\n", "cmdline\nunsupported_hardware\n", "unsupported_hardware: RHEL 7 only"},
		{"EL 7 unsupported_hardware takes no option", "CentOS-7.9.2009", "unsupported_hardware\n", "unsupported_hardware --yes\n", "unsupported_hardware: unknown option --yes"},
		{"EL 8 has no authconfig", "Rocky-8.10", "authselect select sssd with-silent-lastlog --force", "authconfig --enableshadow --passalgo=sha512", "authconfig: replaced by authselect in RHEL 8"},
		{"EL 8 needs authselect", "Rocky-8.10", "authselect select sssd with-silent-lastlog --force\n", "", `command "authselect": want it once, found 0`},
		{"EL 8 has no timesource", "Rocky-8.10-uefi", "timezone UTC --utc --ntpservers=0.pool.ntp.org,ntp.example.com", "timezone UTC --utc\ntimesource --ntp-server=0.pool.ntp.org", "timesource: RHEL 9 and later"},
		{"EL 8 needs AppStream beside BaseOS", "Rocky-8.10", "repo --name=AppStream", "repo --name=PowerTools", "want one repo --name=AppStream beside it, found 0"},
		{"EL 8 repo needs a location", "Rocky-8.10", "repo --name=AppStream --baseurl=", "repo --name=AppStream --cost=", "repo AppStream: want --baseurl"},
		{"EL 8 installs the minimal environment", "Rocky-8.10", "@^minimal-environment", "@core", "want @^minimal-environment"},
		{"EL 9 deprecates timezone --ntpservers", "Rocky-9.6-uefi", "timezone UTC --utc\n", "timezone UTC --utc --ntpservers=ntp.example.com\n", "timezone --ntpservers: deprecated in RHEL 9, removed in RHEL 10: use timesource"},
		{"EL 10 has no timezone --isUtc", "CentOS-Stream-10", "timezone UTC --utc", "timezone UTC --isUtc", "timezone --isUtc: deprecated since RHEL 9: use --utc"},
		{"EL 10 has no authconfig", "CentOS-Stream-10", "authselect select", "authconfig --enableshadow\nauthselect select", "authconfig: replaced by authselect"},
		{"EL 7 has no authselect", "CentOS-7.9.2009", "authconfig --enableshadow --passalgo=sha512", "authselect select sssd", "authselect: RHEL 8 and later"},
		{"UEFI needs an EFI system partition", "Rocky-9.6-uefi", "reqpart\n", "", "firmware uefi: want reqpart or one /boot/efi partition"},
		{"crypto policies stay at DEFAULT", "Rocky-9.6", "restorecon -R /root/.ssh || true\n", "restorecon -R /root/.ssh || true\nupdate-crypto-policies --set LEGACY\n", `crypto policy "LEGACY": leave it at DEFAULT`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			good, target := rendered(t, c.vm)
			if err := Check(good, target); err != nil {
				t.Fatalf("the rendered kickstart: %v", err)
			}
			if !strings.Contains(good, c.from) {
				t.Fatalf("the kickstart lacks %q:\n%s", c.from, good)
			}
			err := Check(strings.Replace(good, c.from, c.to, 1), target)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to say %q", err, c.want)
			}
		})
	}
}

// TestTheOpenStackRootGrowsAndAnLVMRootCannot renders every OS's
// virtual/openstack kickstart (growroot = yes) and checks that its root is
// one plain partition that grows and comes last; the LVM layout of
// virtual/aws and a partition after the root are refused.
func TestTheOpenStackRootGrowsAndAnLVMRootCannot(t *testing.T) {
	k := loadShipped(t)
	for _, vm := range k.OSNames() {
		var buf bytes.Buffer
		if err := k.Render(&buf, "virtual/openstack", vm, ""); err != nil {
			t.Fatal(err)
		}
		if err := CheckGrowRoot(buf.String()); err != nil {
			t.Errorf("virtual/openstack for %s: %v", vm, err)
		}
		if !strings.Contains(buf.String(), "\npart / --fstype=xfs --size=1 --grow --ondisk=vda\n") {
			t.Errorf("virtual/openstack for %s has no plain growing root partition:\n%s", vm, buf.String())
		}
	}
	aws, _ := rendered(t, "CentOS-7.9.2009")
	for _, tc := range []struct{ name, ks, want string }{
		{"aws's LVM", aws, "volgroup: growpart cannot grow a root on LVM"},
		{"a swap partition after the root", "part / --fstype=xfs --size=1 --grow\npart swap --size=1024\n", "part swap comes after the root's"},
		{"a capped root", "part / --fstype=xfs --size=1 --grow --maxsize=4096\n", "--maxsize caps the root"},
		{"a fixed root", "part / --fstype=xfs --size=4096\n", "want --grow"},
	} {
		if err := CheckGrowRoot(tc.ks); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to say %q", tc.name, err, tc.want)
		}
	}
}

func TestGrowRootRefusesALayoutGrowpartCannotGrow(t *testing.T) {
	for _, tc := range []struct{ own, want string }{
		{"growroot = yes\n", `http/builds/virtual/grow:1: growroot "yes": needs lvm = no, got "yes" (http/builds/defaults:27): cloud-init's growpart cannot grow a root on LVM`},
		{"growroot = yes\nlvm = no\n", `http/builds/virtual/grow:1: growroot "yes": needs swap = none, got "recommended" (http/builds/defaults:29)`},
		{"growroot = yes\nlvm = no\nswap = none\nroot = 8192\n", `growroot "yes": needs root = max, got "8192" (http/builds/virtual/grow:4)`},
		{"pesize = 3000\n", `http/builds/virtual/grow:1: pesize "3000": want a power of two in KiB`},
		{"vg = _rootvg\nlv = -root\n", `http/builds/virtual/grow:2: lv "-root": want a logical volume name`},
		{"bootfs = btrfs\n", `http/builds/virtual/grow:1: bootfs "btrfs": want xfs, ext4, ext3, or empty for fstype`},
	} {
		root := copyTree(t)
		writeFile(t, root, "http/builds/virtual/grow", tc.own)
		_, err := LoadBuilds(root)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want it to say %q", tc.own, err, tc.want)
		}
	}
	root := copyTree(t)
	writeFile(t, root, "http/builds/virtual/grow", "vg = _rootvg\nbootfs = ext3\npesize = 0\n")
	builds, err := LoadBuilds(root)
	if err != nil {
		t.Fatalf("the original's names: %v", err)
	}
	if b := builds["virtual/grow"]; b.VG != "_rootvg" || b.BootFS != "ext3" || b.PESize != 0 {
		t.Errorf("build %+v, want vg _rootvg, bootfs ext3, pesize 0", b)
	}
}

func TestCheckRefusesAReleaseWithoutRules(t *testing.T) {
	good, target := rendered(t, "Rocky-9.6")
	target.OSVersion = "11.0"
	if err := Check(good, target); err == nil || !strings.Contains(err.Error(), "no rules for major release 11") {
		t.Errorf("err = %v", err)
	}
}
