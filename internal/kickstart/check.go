package kickstart

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// rhel7Commands lists the RHEL 7 kickstart commands the templates may use
// and the options each accepts (from the RHEL 7 Installation Guide's
// kickstart reference; pykickstart's RHEL7 handler accepts the same).
var rhel7Commands = map[string][]string{
	"install":    {},
	"cmdline":    {},
	"text":       {},
	"url":        {"url", "mirrorlist", "proxy", "noverifyssl"},
	"cdrom":      {},
	"lang":       {"addsupport"},
	"keyboard":   {"vckeymap", "xlayouts", "switch"},
	"timezone":   {"utc", "isUtc", "nontp", "ntpservers"},
	"network":    {"bootproto", "device", "ip", "netmask", "gateway", "nameserver", "hostname", "onboot", "activate", "noipv6", "ipv6", "mtu", "nodns", "nodefroute"},
	"rootpw":     {"iscrypted", "plaintext", "lock"},
	"authconfig": {"enableshadow", "passalgo", "useshadow", "enablemd5"},
	"firewall":   {"enabled", "disabled", "service", "port", "trust", "ssh"},
	"selinux":    {"enforcing", "permissive", "disabled"},
	"firstboot":  {"enable", "enabled", "disable", "disabled", "reconfig"},
	"bootloader": {"location", "boot-drive", "append", "password", "iscrypted", "timeout", "driveorder"},
	"ignoredisk": {"only-use", "drives"},
	"clearpart":  {"all", "linux", "none", "initlabel", "drives", "list"},
	"zerombr":    {},
	"part":       {"fstype", "size", "grow", "maxsize", "ondisk", "ondrive", "recommended", "asprimary", "label"},
	"volgroup":   {"pesize", "useexisting", "noformat"},
	"logvol":     {"vgname", "name", "fstype", "size", "grow", "maxsize", "recommended", "percent"},
	"reboot":     {"eject", "kexec"},
	"skipx":      {},
}

// rhel7Required must appear exactly once (url or cdrom: one of them).
var rhel7Required = []string{"install", "lang", "keyboard", "timezone", "rootpw", "authconfig", "bootloader", "clearpart", "reboot"}

var optionRE = regexp.MustCompile(`^--([a-zA-Z-]+)(=(.*))?$`)

// Check parses a RHEL 7 kickstart and reports what anaconda (or
// ksvalidator -v RHEL7) would refuse: unknown commands or options, required
// commands missing or repeated, sections not closed by %end, logical
// volumes on undeclared volume groups, duplicate mount points, a root
// password that is not a SHA-512 crypt hash. Every problem is reported.
func Check(ks string) error {
	var problems []string
	bad := func(n int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("line %d: %s", n, fmt.Sprintf(format, args...)))
	}
	count := map[string]int{}
	section, sectionLine := "", 0
	pvs, vgs, mounts := map[string]bool{}, map[string]bool{}, map[string]int{}
	for i, line := range strings.Split(ks, "\n") {
		n := i + 1
		trim := strings.TrimSpace(line)
		if section != "" {
			switch {
			case trim == "%end":
				section = ""
			case strings.HasPrefix(trim, "%packages") || strings.HasPrefix(trim, "%post") || strings.HasPrefix(trim, "%pre"):
				bad(n, "%s begins before %s of line %d has its %%end", strings.Fields(trim)[0], section, sectionLine)
			case section == "%packages" && trim != "" && !strings.HasPrefix(trim, "#") && !regexp.MustCompile(`^-?@?\^?[A-Za-z0-9][A-Za-z0-9._+*-]*$`).MatchString(trim):
				bad(n, "%%packages: %q is not a package or @group name", trim)
			}
			continue
		}
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		fields, err := splitArgs(trim)
		if err != nil {
			bad(n, "%v", err)
			continue
		}
		cmd := fields[0]
		if strings.HasPrefix(cmd, "%") {
			switch cmd {
			case "%packages", "%post", "%pre":
				section, sectionLine = cmd, n
				count[cmd]++
			case "%end":
				bad(n, "%%end without a section")
			default:
				bad(n, "unknown section %q", cmd)
			}
			continue
		}
		allowed, ok := rhel7Commands[cmd]
		if !ok {
			bad(n, "unknown RHEL 7 kickstart command %q", cmd)
			continue
		}
		count[cmd]++
		opts := map[string]string{}
		var args []string
		for _, f := range fields[1:] {
			m := optionRE.FindStringSubmatch(f)
			if m == nil {
				args = append(args, f)
				continue
			}
			if !contains(allowed, m[1]) {
				bad(n, "%s: unknown option --%s", cmd, m[1])
			}
			opts[m[1]] = m[3]
		}
		switch cmd {
		case "url":
			if u, err := url.Parse(opts["url"]); err != nil || u.Scheme == "" || u.Host == "" {
				bad(n, "url: --url=%q is not an absolute URL", opts["url"])
			}
		case "rootpw":
			if _, crypted := opts["iscrypted"]; !crypted || len(args) != 1 || !hashRE.MatchString(args[0]) {
				bad(n, "rootpw: want --iscrypted and one SHA-512 crypt hash")
			}
		case "lang", "timezone":
			if len(args) != 1 {
				bad(n, "%s: want one argument, got %d", cmd, len(args))
			}
		case "part":
			if len(args) != 1 {
				bad(n, "part: want one mount point, got %d", len(args))
			} else if strings.HasPrefix(args[0], "pv.") {
				pvs[args[0]] = true
			} else {
				mounts[args[0]]++
			}
		case "volgroup":
			if len(args) < 2 {
				bad(n, "volgroup: want a name and physical volumes")
				break
			}
			vgs[args[0]] = true
			for _, pv := range args[1:] {
				if !pvs[pv] {
					bad(n, "volgroup %s: physical volume %q is not declared by a part before it", args[0], pv)
				}
			}
		case "logvol":
			if len(args) != 1 || opts["name"] == "" {
				bad(n, "logvol: want one mount point and --name")
			} else {
				mounts[args[0]]++
			}
			if !vgs[opts["vgname"]] {
				bad(n, "logvol: volume group %q is not declared by a volgroup before it", opts["vgname"])
			}
		}
		for _, sizeOpt := range []string{"size", "maxsize"} {
			if v, ok := opts[sizeOpt]; ok && !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(v) {
				bad(n, "%s: --%s=%q is not a size in MiB", cmd, sizeOpt, v)
			}
		}
	}
	if section != "" {
		bad(sectionLine, "%s has no %%end", section)
	}
	for _, c := range rhel7Required {
		if count[c] != 1 {
			problems = append(problems, fmt.Sprintf("command %q: want it once, found %d", c, count[c]))
		}
	}
	if count["url"]+count["cdrom"] != 1 {
		problems = append(problems, "installation source: want exactly one url or cdrom")
	}
	if count["%packages"] != 1 {
		problems = append(problems, "want one %packages section")
	}
	if mounts["/"] != 1 {
		problems = append(problems, fmt.Sprintf("mount point /: want it once, found %d", mounts["/"]))
	}
	for m, c := range mounts {
		if c > 1 && m != "swap" {
			problems = append(problems, fmt.Sprintf("mount point %s: declared %d times", m, c))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid RHEL 7 kickstart:\n    %s", strings.Join(problems, "\n    "))
	}
	return nil
}

// splitArgs splits a command line as anaconda does (shlex): spaces
// separate, double or single quotes group.
func splitArgs(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed quote in %q", line)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}
