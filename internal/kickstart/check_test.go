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
		{"undeclared volume group", "volgroup rootvg pv.01", "volgroup othervg pv.01", `volume group "rootvg" is not declared`},
		{"undeclared physical volume", "volgroup rootvg pv.01", "volgroup rootvg pv.02", `physical volume "pv.02" is not declared`},
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

func TestCheckRefusesAReleaseWithoutRules(t *testing.T) {
	good, target := rendered(t, "Rocky-9.6")
	target.OSVersion = "11.0"
	if err := Check(good, target); err == nil || !strings.Contains(err.Error(), "no rules for major release 11") {
		t.Errorf("err = %v", err)
	}
}
