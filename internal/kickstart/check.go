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

var (
	optionRE  = regexp.MustCompile(`^--([a-zA-Z-]+)(=(.*))?$`)
	packageRE = regexp.MustCompile(`^-?@?\^?[A-Za-z0-9][A-Za-z0-9._+*-]*$`)
	sizeRE    = regexp.MustCompile(`^[1-9][0-9]*$`)
)

// Check parses a RHEL 7 kickstart and reports what anaconda (or
// ksvalidator -v RHEL7) would refuse: unknown commands or options, required
// commands missing or repeated, sections not closed by %end, logical
// volumes on undeclared volume groups, duplicate mount points, a root
// password that is not a SHA-512 crypt hash. Every problem is reported:
// those of each line in line order, then those of the whole file.
func Check(ks string) error {
	c := &checker{count: map[string]int{}, pvs: map[string]bool{}, vgs: map[string]bool{}, mounts: map[string]int{}}
	for i, line := range strings.Split(ks, "\n") {
		c.line(i+1, strings.TrimSpace(line))
	}
	for _, rule := range fileRules {
		rule(c)
	}
	if len(c.problems) > 0 {
		return fmt.Errorf("invalid RHEL 7 kickstart:\n    %s", strings.Join(c.problems, "\n    "))
	}
	return nil
}

// checker is what Check has seen so far, and the problems it found.
type checker struct {
	problems    []string
	count       map[string]int // commands and sections, by name
	section     string         // the open section; "" outside
	sectionLine int
	pvs, vgs    map[string]bool // physical volumes and volume groups declared so far
	mounts      map[string]int  // mount points of part and logvol
}

func (c *checker) bad(n int, format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf("line %d: %s", n, fmt.Sprintf(format, args...)))
}

// command is one command line, split as anaconda splits it.
type command struct {
	n     int
	name  string
	args  []string          // the fields after the name that are not --options
	opts  map[string]string // --name=value or --name (value "")
	given []string          // the options' names in the order given
}

// line sorts one line: inside a section, blank or a comment, a section
// header, or a command, whose rules then run.
func (c *checker) line(n int, trim string) {
	if c.section != "" {
		c.inSection(n, trim)
		return
	}
	if trim == "" || strings.HasPrefix(trim, "#") {
		return
	}
	fields, err := splitArgs(trim)
	if err != nil {
		c.bad(n, "%v", err)
		return
	}
	if strings.HasPrefix(fields[0], "%") {
		c.sectionHeader(n, fields[0])
		return
	}
	if _, ok := rhel7Commands[fields[0]]; !ok {
		c.bad(n, "unknown RHEL 7 kickstart command %q", fields[0])
		return
	}
	c.count[fields[0]]++
	cmd := parseCommand(n, fields)
	for _, r := range commandRules {
		if r.command == "" || r.command == cmd.name {
			r.check(c, cmd)
		}
	}
}

func parseCommand(n int, fields []string) command {
	cmd := command{n: n, name: fields[0], opts: map[string]string{}}
	for _, f := range fields[1:] {
		if m := optionRE.FindStringSubmatch(f); m != nil {
			cmd.opts[m[1]] = m[3]
			cmd.given = append(cmd.given, m[1])
		} else {
			cmd.args = append(cmd.args, f)
		}
	}
	return cmd
}

// sectionHeader opens %packages, %pre or %post; any other % line is wrong
// outside a section.
func (c *checker) sectionHeader(n int, name string) {
	switch name {
	case "%packages", "%post", "%pre":
		c.section, c.sectionLine = name, n
		c.count[name]++
	case "%end":
		c.bad(n, "%%end without a section")
	default:
		c.bad(n, "unknown section %q", name)
	}
}

// inSection closes the open section at %end, refuses a section begun
// inside it and checks the names in %packages.
func (c *checker) inSection(n int, trim string) {
	switch {
	case trim == "%end":
		c.section = ""
	case strings.HasPrefix(trim, "%packages") || strings.HasPrefix(trim, "%post") || strings.HasPrefix(trim, "%pre"):
		c.bad(n, "%s begins before %s of line %d has its %%end", strings.Fields(trim)[0], c.section, c.sectionLine)
	case c.section == "%packages" && trim != "" && !strings.HasPrefix(trim, "#") && !packageRE.MatchString(trim):
		c.bad(n, "%%packages: %q is not a package or @group name", trim)
	}
}

// commandRules check each command line, in this order; a rule with no
// command checks every command.
var commandRules = []struct {
	command string
	check   func(*checker, command)
}{
	{"", (*checker).unknownOptions},
	{"url", (*checker).url},
	{"rootpw", (*checker).rootpw},
	{"lang", (*checker).oneArgument},
	{"timezone", (*checker).oneArgument},
	{"part", (*checker).part},
	{"volgroup", (*checker).volgroup},
	{"logvol", (*checker).logvol},
	{"", (*checker).sizes},
}

func (c *checker) unknownOptions(cmd command) {
	for _, o := range cmd.given {
		if !contains(rhel7Commands[cmd.name], o) {
			c.bad(cmd.n, "%s: unknown option --%s", cmd.name, o)
		}
	}
}

func (c *checker) url(cmd command) {
	if u, err := url.Parse(cmd.opts["url"]); err != nil || u.Scheme == "" || u.Host == "" {
		c.bad(cmd.n, "url: --url=%q is not an absolute URL", cmd.opts["url"])
	}
}

func (c *checker) rootpw(cmd command) {
	if _, crypted := cmd.opts["iscrypted"]; !crypted || len(cmd.args) != 1 || !hashRE.MatchString(cmd.args[0]) {
		c.bad(cmd.n, "rootpw: want --iscrypted and one SHA-512 crypt hash")
	}
}

func (c *checker) oneArgument(cmd command) {
	if len(cmd.args) != 1 {
		c.bad(cmd.n, "%s: want one argument, got %d", cmd.name, len(cmd.args))
	}
}

// part declares a physical volume (pv.*) or a mount point.
func (c *checker) part(cmd command) {
	switch {
	case len(cmd.args) != 1:
		c.bad(cmd.n, "part: want one mount point, got %d", len(cmd.args))
	case strings.HasPrefix(cmd.args[0], "pv."):
		c.pvs[cmd.args[0]] = true
	default:
		c.mounts[cmd.args[0]]++
	}
}

// volgroup declares a volume group on physical volumes declared before it.
func (c *checker) volgroup(cmd command) {
	if len(cmd.args) < 2 {
		c.bad(cmd.n, "volgroup: want a name and physical volumes")
		return
	}
	c.vgs[cmd.args[0]] = true
	for _, pv := range cmd.args[1:] {
		if !c.pvs[pv] {
			c.bad(cmd.n, "volgroup %s: physical volume %q is not declared by a part before it", cmd.args[0], pv)
		}
	}
}

// logvol declares a mount point on a volume group declared before it.
func (c *checker) logvol(cmd command) {
	if len(cmd.args) != 1 || cmd.opts["name"] == "" {
		c.bad(cmd.n, "logvol: want one mount point and --name")
	} else {
		c.mounts[cmd.args[0]]++
	}
	if !c.vgs[cmd.opts["vgname"]] {
		c.bad(cmd.n, "logvol: volume group %q is not declared by a volgroup before it", cmd.opts["vgname"])
	}
}

func (c *checker) sizes(cmd command) {
	for _, sizeOpt := range []string{"size", "maxsize"} {
		if v, ok := cmd.opts[sizeOpt]; ok && !sizeRE.MatchString(v) {
			c.bad(cmd.n, "%s: --%s=%q is not a size in MiB", cmd.name, sizeOpt, v)
		}
	}
}

// fileRules run once the whole file is read, in order.
var fileRules = []func(*checker){
	(*checker).unclosedSection,
	(*checker).requiredCommands,
	(*checker).installSource,
	(*checker).onePackagesSection,
	(*checker).oneRootMount,
	(*checker).repeatedMounts,
}

func (c *checker) unclosedSection() {
	if c.section != "" {
		c.bad(c.sectionLine, "%s has no %%end", c.section)
	}
}

func (c *checker) requiredCommands() {
	for _, name := range rhel7Required {
		if c.count[name] != 1 {
			c.problems = append(c.problems, fmt.Sprintf("command %q: want it once, found %d", name, c.count[name]))
		}
	}
}

func (c *checker) installSource() {
	if c.count["url"]+c.count["cdrom"] != 1 {
		c.problems = append(c.problems, "installation source: want exactly one url or cdrom")
	}
}

func (c *checker) onePackagesSection() {
	if c.count["%packages"] != 1 {
		c.problems = append(c.problems, "want one %packages section")
	}
}

func (c *checker) oneRootMount() {
	if c.mounts["/"] != 1 {
		c.problems = append(c.problems, fmt.Sprintf("mount point /: want it once, found %d", c.mounts["/"]))
	}
}

// repeatedMounts: swap may be given more than once, other mount points not.
func (c *checker) repeatedMounts() {
	for m, n := range c.mounts {
		if n > 1 && m != "swap" {
			c.problems = append(c.problems, fmt.Sprintf("mount point %s: declared %d times", m, n))
		}
	}
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
