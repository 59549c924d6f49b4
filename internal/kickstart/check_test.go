package kickstart

import (
	"bytes"
	"strings"
	"testing"
)

func TestCheckRejectsWhatAnacondaWouldRefuse(t *testing.T) {
	var buf bytes.Buffer
	if err := loadShipped(t).Render(&buf, "virtual/aws", "CentOS-7.9.2009", ""); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	if err := Check(good); err != nil {
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
			err := Check(strings.Replace(good, c.from, c.to, 1))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to say %q", err, c.want)
			}
		})
	}
}
