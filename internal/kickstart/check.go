package kickstart

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"strings"

	"gold-standard-images/internal/config"
)

// dialect is what the anaconda of one major release accepts, for the
// commands the templates may use: pykickstart's RHEL<N>Handler
// (`ksvalidator -v RHEL9`) is the reference; http/README.md records the
// facts taken from it.
type dialect struct {
	name     string              // "RHEL 9"
	commands map[string][]string // command -> options it accepts (anyOption: authselect passes them on)
	gone     map[string]string   // command, or "command --option", that this release refuses or deprecates -> what to use
	required []string            // commands that must appear exactly once
	el8      bool                // EL 8 and later: BaseOS + AppStream, @^minimal-environment
}

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
	"reqpart":    {"add-boot"},
	"part":       {"fstype", "size", "grow", "maxsize", "ondisk", "ondrive", "recommended", "asprimary", "label"},
	"volgroup":   {"pesize", "useexisting", "noformat"},
	"logvol":     {"vgname", "name", "fstype", "size", "grow", "maxsize", "recommended", "percent"},
	"reboot":     {"eject", "kexec"},
	"skipx":      {},
	// RHEL 7 only (RHEL6_UnsupportedHardware): the installer does not stop
	// at its warning on uncertified hardware.
	"unsupported_hardware": {},
}

// rhel8Commands: RHEL 8 deprecates install, replaces authconfig with
// authselect, and splits the packages into BaseOS (url) and AppStream
// (repo); it has no timesource (RHEL8Handler).
var rhel8Commands = edit(rhel7Commands, map[string][]string{
	"install":              nil,
	"authconfig":           nil,
	"unsupported_hardware": nil,
	"authselect":           {anyOption},
	"url":                  {"url", "mirrorlist", "metalink", "proxy", "noverifyssl"},
	"repo":                 {"name", "baseurl", "mirrorlist", "metalink", "cost", "excludepkgs", "includepkgs", "proxy", "noverifyssl", "install"},
	"clearpart":            {"all", "linux", "none", "initlabel", "drives", "list", "disklabel"},
	"part":                 {"fstype", "size", "grow", "maxsize", "ondisk", "ondrive", "recommended", "asprimary", "label", "fsoptions"},
})

// rhel9Commands: RHEL 9 adds timesource (F33_Timesource) and deprecates
// timezone --ntpservers, --nontp (F33_Timezone) and --isUtc
// (F32_Timezone, use --utc); RHEL 10 removes them (F40_Timezone).
// rootpw learns --allow-ssh (F37_RootPw).
var rhel9Commands = edit(rhel8Commands, map[string][]string{
	"timesource": {"ntp-server", "ntp-pool", "ntp-disable", "nts"},
	"timezone":   {"utc"},
	"rootpw":     {"iscrypted", "plaintext", "lock", "allow-ssh"},
})

// anyOption in a command's options accepts every option.
const anyOption = "*"

// edit copies base with changes applied: a nil value removes the command.
func edit(base, changes map[string][]string) map[string][]string {
	out := maps.Clone(base)
	for c, opts := range changes {
		if opts == nil {
			delete(out, c)
			continue
		}
		out[c] = opts
	}
	return out
}

var (
	el8Gone = map[string]string{
		"install":    "deprecated from RHEL 8 on: the installer always installs (delete the line)",
		"authconfig": "replaced by authselect in RHEL 8 (removed in RHEL 10)",
		"auth":       "replaced by authselect in RHEL 8 (removed in RHEL 10)",
		// pykickstart's RHEL8Handler and later have no such command.
		"unsupported_hardware": "RHEL 7 only: RHEL 8 and later have no such command",
	}
	// el8Required are the commands EL 8 and later need exactly once.
	el8Required = []string{"lang", "keyboard", "timezone", "rootpw", "authselect", "bootloader", "clearpart", "reboot"}
	el9Gone     = mergeGone(el8Gone, map[string]string{
		"timezone --ntpservers": "deprecated in RHEL 9, removed in RHEL 10: use timesource --ntp-server=<server>, one per server",
		"timezone --nontp":      "deprecated in RHEL 9, removed in RHEL 10: use timesource --ntp-disable",
		"timezone --isUtc":      "deprecated since RHEL 9: use --utc",
	})
)

func mergeGone(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// dialects holds the rules of each major release the families serve.
var dialects = map[int]dialect{
	7: {name: "RHEL 7", commands: rhel7Commands,
		gone:     map[string]string{"authselect": "RHEL 8 and later: RHEL 7 uses authconfig", "timesource": "RHEL 9 and later: RHEL 7 sets NTP servers with timezone --ntpservers"},
		required: []string{"install", "lang", "keyboard", "timezone", "rootpw", "authconfig", "bootloader", "clearpart", "reboot"}},
	8: {name: "RHEL 8", commands: rhel8Commands, el8: true,
		gone:     mergeGone(el8Gone, map[string]string{"timesource": "RHEL 9 and later: RHEL 8 sets NTP servers with timezone --ntpservers"}),
		required: el8Required},
	9:  {name: "RHEL 9", commands: rhel9Commands, el8: true, gone: el9Gone, required: el8Required},
	10: {name: "RHEL 10", commands: rhel9Commands, el8: true, gone: el9Gone, required: el8Required},
}

var (
	optionRE  = regexp.MustCompile(`^--([a-zA-Z-]+)(=(.*))?$`)
	packageRE = regexp.MustCompile(`^-?@?\^?[A-Za-z0-9][A-Za-z0-9._+*-]*$`)
	sizeRE    = regexp.MustCompile(`^[1-9][0-9]*$`)
)

// Check parses the kickstart rendered for t and reports what the anaconda
// of t's major release (or ksvalidator -v RHEL<N>) would refuse or
// deprecate: unknown commands or options, commands of other releases,
// required commands missing or repeated, sections not closed by %end,
// logical volumes on undeclared volume groups, duplicate mount points, a
// root password that is not a SHA-512 crypt hash; from EL 8 on also BaseOS
// without AppStream and a %packages without @^minimal-environment; for
// UEFI an EFI system partition; everywhere crypto policies left at
// DEFAULT. Every problem is reported: those of each line in line order,
// then those of the whole file.
func Check(ks string, t Target) error {
	major := config.Major(t.OSVersion)
	d, ok := dialects[major]
	if !ok {
		return fmt.Errorf("checking the kickstart of %q: no rules for major release %d (os_version %q)", t.VMName, major, t.OSVersion)
	}
	c := &checker{dialect: d, uefi: t.Firmware == string(config.UEFI), count: map[string]int{}, pvs: map[string]bool{}, vgs: map[string]bool{}, mounts: map[string]int{}, packages: map[string]bool{}}
	for i, line := range strings.Split(ks, "\n") {
		c.line(i+1, strings.TrimSpace(line))
	}
	for _, rule := range fileRules {
		rule(c)
	}
	if len(c.problems) > 0 {
		return fmt.Errorf("invalid %s kickstart:\n    %s", d.name, strings.Join(c.problems, "\n    "))
	}
	return nil
}

// checker is what Check has seen so far, and the problems it found.
type checker struct {
	dialect     dialect
	uefi        bool
	packages    map[string]bool // names in %packages
	appStream   int             // repo --name=AppStream lines
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
	if why, ok := c.dialect.gone[fields[0]]; ok {
		c.bad(n, "%s: %s", fields[0], why)
		return
	}
	if _, ok := c.dialect.commands[fields[0]]; !ok {
		c.bad(n, "unknown %s kickstart command %q", c.dialect.name, fields[0])
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
	case c.section == "%packages":
		c.packages[trim] = true
	case c.section == "%post":
		c.cryptoPolicy(n, trim)
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
	{"repo", (*checker).repo},
	{"rootpw", (*checker).rootpw},
	{"lang", (*checker).oneArgument},
	{"timezone", (*checker).oneArgument},
	{"part", (*checker).part},
	{"volgroup", (*checker).volgroup},
	{"logvol", (*checker).logvol},
	{"", (*checker).sizes},
}

func (c *checker) unknownOptions(cmd command) {
	known := c.dialect.commands[cmd.name]
	if contains(known, anyOption) {
		return
	}
	for _, o := range cmd.given {
		if why, ok := c.dialect.gone[cmd.name+" --"+o]; ok {
			c.bad(cmd.n, "%s --%s: %s", cmd.name, o, why)
		} else if !contains(known, o) {
			c.bad(cmd.n, "%s: unknown option --%s", cmd.name, o)
		}
	}
}

// repo counts the AppStream repository, which must have a location.
func (c *checker) repo(cmd command) {
	if cmd.opts["name"] == "" {
		c.bad(cmd.n, "repo: want --name")
	}
	if cmd.opts["baseurl"] == "" && cmd.opts["mirrorlist"] == "" && cmd.opts["metalink"] == "" {
		c.bad(cmd.n, "repo %s: want --baseurl, --mirrorlist or --metalink", cmd.opts["name"])
	}
	if strings.EqualFold(cmd.opts["name"], "AppStream") {
		c.appStream++
	}
}

// cryptoPolicy refuses a %post that moves the system-wide crypto policy
// away from DEFAULT (the images stay at the vendor's default).
func (c *checker) cryptoPolicy(n int, trim string) {
	f := strings.Fields(trim)
	for i := 0; i+1 < len(f); i++ {
		if strings.HasSuffix(f[0], "update-crypto-policies") && (f[i] == "--set" || f[i] == "-s") && f[i+1] != "DEFAULT" {
			c.bad(n, "%%post: crypto policy %q: leave it at DEFAULT", f[i+1])
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
	(*checker).el8Repositories,
	(*checker).el8Environment,
	(*checker).efiSystemPartition,
}

// el8Repositories: from EL 8 on, a network install (url, BaseOS) needs the
// AppStream repository beside it; the ISO (cdrom) carries both.
func (c *checker) el8Repositories() {
	if c.dialect.el8 && c.count["url"] == 1 && c.appStream != 1 {
		c.problems = append(c.problems, fmt.Sprintf("repositories: url gives BaseOS; want one repo --name=AppStream beside it, found %d", c.appStream))
	}
}

// el8Environment: from EL 8 on the package set is the minimal environment.
func (c *checker) el8Environment() {
	if c.dialect.el8 && !c.packages["@^minimal-environment"] {
		c.problems = append(c.problems, "%packages: want @^minimal-environment")
	}
}

// efiSystemPartition: UEFI firmware boots from an EFI system partition,
// made by reqpart or a /boot/efi partition.
func (c *checker) efiSystemPartition() {
	if c.uefi && c.count["reqpart"]+c.mounts["/boot/efi"] != 1 {
		c.problems = append(c.problems, "firmware uefi: want reqpart or one /boot/efi partition (the EFI system partition)")
	}
}

func (c *checker) unclosedSection() {
	if c.section != "" {
		c.bad(c.sectionLine, "%s has no %%end", c.section)
	}
}

func (c *checker) requiredCommands() {
	for _, name := range c.dialect.required {
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

// CheckGrowRoot checks that the kickstart ks lays out a root that cloud-init's
// growpart and resizefs grow to a larger disk at the first boot: / on a
// plain partition that grows (--grow, no --maxsize), made after every
// other partition (reqpart's come first), and no LVM. Build definitions
// with growroot = yes must render such a kickstart (RenderAll).
func CheckGrowRoot(ks string) error {
	var problems []string
	var parts []command
	for i, line := range strings.Split(ks, "\n") {
		trim := strings.TrimSpace(line)
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		if strings.HasPrefix(trim, "%") {
			break // the commands end where the first section begins
		}
		fields, err := splitArgs(trim)
		if err != nil {
			continue // Check reports it
		}
		cmd := parseCommand(i+1, fields)
		switch cmd.name {
		case "volgroup", "logvol":
			problems = append(problems, fmt.Sprintf("line %d: %s: growpart cannot grow a root on LVM", cmd.n, cmd.name))
		case "part", "partition":
			parts = append(parts, cmd)
		}
	}
	root := -1
	for i, p := range parts {
		if len(p.args) == 1 && p.args[0] == "/" {
			root = i
		}
	}
	switch {
	case root < 0:
		problems = append(problems, "no part / (the root must be a plain partition)")
	default:
		p := parts[root]
		if _, ok := p.opts["grow"]; !ok {
			problems = append(problems, fmt.Sprintf("line %d: part /: want --grow", p.n))
		}
		if _, ok := p.opts["maxsize"]; ok {
			problems = append(problems, fmt.Sprintf("line %d: part /: --maxsize caps the root", p.n))
		}
		for _, after := range parts[root+1:] {
			problems = append(problems, fmt.Sprintf("line %d: part %s comes after the root's and may take the room it would grow into", after.n, strings.Join(after.args, " ")))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("the root cannot grow with the disk:\n    %s", strings.Join(problems, "\n    "))
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
