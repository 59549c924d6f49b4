// Package kickstart renders the installers' kickstart files from the layered
// build definitions under http/builds/ and the per-family templates under
// http/templates/, and serves them over HTTP (/ks and /ks.php) to Packer's
// guests and to bare-metal PXE installs.
package kickstart

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Folders below the root (the repository, or /srv in the container).
const (
	BuildsDir    = "http/builds"
	TemplatesDir = "http/templates"
	KeyFile      = "keys/packer.pub"
)

// Build is one layered build definition: common defaults, then the build
// type's defaults, then the build's or host's own file.
type Build struct {
	Name     string // "virtual/aws" or "metal/<host>"
	Hardware string // "virtual" or "metal"
	Disk     string // the only disk the installer touches
	FSType   string
	BootFS   string // file system of /boot (bootfs; empty in the file: FSType)
	LVM      bool
	Boot     int // MiB of /boot; 0: none
	Swap     string
	Root     string
	VG       string
	LV       string // the root logical volume's name
	PESize   int    // the volume group's physical extent size in KiB; 0: LVM's default
	GrowRoot bool   // the root grows with the disk at first boot (cloud-init's growpart)
	Eject    bool

	// Metal hosts only (Static): the network and the names derived from fqdn.
	FQDN, Hostname, Domain  string
	Device, IPAddr, Netmask string
	Gateway                 string
	Nameservers             []string
	Static                  bool
	SwapRecommended         bool
	SwapSize, RootSize      int // MiB; 0: recommended/none and max
	file                    string
}

// knownKeys are the keys a definition file may set.
var knownKeys = []string{"boot", "bootfs", "device", "disk", "eject", "fqdn", "fstype", "gateway", "growroot", "hardware", "ipaddr", "lv", "lvm", "nameserver", "netmask", "pesize", "root", "swap", "vg"}

var (
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	tokenRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	fqdnRE  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))+$`)
)

// lvmRE is a volume group or logical volume name LVM takes (no leading
// "-"; the original's virtual builds named theirs "_rootvg").
var lvmRE = regexp.MustCompile(`^[A-Za-z0-9_+][A-Za-z0-9._+-]{0,63}$`)

// Builds are the build definitions, by name.
type Builds map[string]Build

// Names returns the build names, sorted.
func (b Builds) Names() []string {
	names := make([]string, 0, len(b))
	for n := range b {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LoadBuilds reads every definition below root/http/builds and layers it.
// Every problem of every file is reported at once.
func LoadBuilds(root string) (Builds, error) {
	var problems []string
	common, err := readDefinition(root, "defaults")
	if err != nil {
		return nil, err
	}
	builds := Builds{}
	for _, kind := range []string{"virtual", "metal"} {
		kindDefaults, err := readDefinition(root, kind+"/defaults")
		if err != nil {
			return nil, err
		}
		entries, err := os.ReadDir(filepath.Join(root, BuildsDir, kind))
		if err != nil {
			return nil, fmt.Errorf("loading build definitions: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || name == "defaults" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
				continue
			}
			rel := path.Join(BuildsDir, kind, name)
			if !nameRE.MatchString(name) {
				problems = append(problems, fmt.Sprintf("%s: file name %q: want letters, digits, '.', '_' or '-'", rel, name))
				continue
			}
			own, err := readDefinition(root, kind+"/"+name)
			if err != nil {
				return nil, err
			}
			b, errs := layer(kind+"/"+name, kind, common, kindDefaults, own)
			problems = append(problems, errs...)
			if len(errs) == 0 {
				builds[b.Name] = b
			}
		}
	}
	problems = append(problems, common.problems...)
	if len(problems) > 0 {
		return nil, fmt.Errorf("loading build definitions:\n  %s", strings.Join(problems, "\n  "))
	}
	return builds, nil
}

// definition is one parsed file: key -> value, and where each key was set.
type definition struct {
	file     string
	values   map[string]string
	lines    map[string]int
	problems []string
}

func readDefinition(root, name string) (definition, error) {
	rel := path.Join(BuildsDir, name)
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return definition{}, fmt.Errorf("loading build definition %q: %w", rel, err)
	}
	return parseDefinition(rel, data), nil
}

// parseDefinition reads "key = value" lines; "#" starts a comment.
func parseDefinition(file string, data []byte) definition {
	d := definition{file: file, values: map[string]string{}, lines: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case !ok:
			d.problems = append(d.problems, fmt.Sprintf("%s:%d: want \"key = value\", got %q", file, n, line))
		case !contains(knownKeys, key):
			d.problems = append(d.problems, fmt.Sprintf("%s:%d: unknown key %q; known: %s", file, n, key, strings.Join(knownKeys, ", ")))
		case d.lines[key] != 0:
			d.problems = append(d.problems, fmt.Sprintf("%s:%d: key %q already set on line %d", file, n, key, d.lines[key]))
		default:
			d.values[key], d.lines[key] = value, n
		}
	}
	return d
}

// layer merges the files in order and validates the result.
func layer(name, kind string, files ...definition) (Build, []string) {
	values := map[string]string{}
	where := map[string]string{}
	var problems []string
	for _, f := range files[1:] { // the common defaults' problems are reported once
		problems = append(problems, f.problems...)
	}
	for _, f := range files {
		for k, v := range f.values {
			values[k] = v
			where[k] = fmt.Sprintf("%s:%d", f.file, f.lines[k])
		}
	}
	own := files[len(files)-1]
	b := Build{Name: name, file: own.file}
	bad := func(key, format string, args ...any) {
		at := where[key]
		if at == "" {
			at = own.file
		}
		problems = append(problems, fmt.Sprintf("%s: %s %q: %s", at, key, values[key], fmt.Sprintf(format, args...)))
	}
	b.Hardware = values["hardware"]
	if b.Hardware != kind {
		bad("hardware", "a build under %s/ must be %q", kind, kind)
	}
	b.Disk = values["disk"]
	if !tokenRE.MatchString(b.Disk) {
		bad("disk", "want a disk name such as sda or vda")
	}
	b.FSType = values["fstype"]
	if !contains([]string{"xfs", "ext4", "ext3"}, b.FSType) {
		bad("fstype", "want xfs, ext4 or ext3")
	}
	if b.BootFS = values["bootfs"]; b.BootFS == "" {
		b.BootFS = b.FSType
	} else if !contains([]string{"xfs", "ext4", "ext3"}, b.BootFS) {
		bad("bootfs", "want xfs, ext4, ext3, or empty for fstype")
	}
	var ok bool
	if b.LVM, ok = yesNo(values["lvm"]); !ok {
		bad("lvm", "want yes or no")
	}
	if b.Eject, ok = yesNo(values["eject"]); !ok {
		bad("eject", "want yes or no")
	}
	if b.GrowRoot, ok = yesNo(values["growroot"]); !ok {
		bad("growroot", "want yes or no")
	}
	var err error
	if b.Boot, err = strconv.Atoi(values["boot"]); err != nil || b.Boot < 0 {
		bad("boot", "want a size in MiB, 0 for no /boot")
	}
	b.Swap = values["swap"]
	switch b.Swap {
	case "recommended":
		b.SwapRecommended = true
	case "none":
	default:
		if b.SwapSize, err = strconv.Atoi(b.Swap); err != nil || b.SwapSize <= 0 {
			bad("swap", "want recommended, none or a size in MiB")
		}
	}
	b.Root = values["root"]
	if b.Root != "max" {
		if b.RootSize, err = strconv.Atoi(b.Root); err != nil || b.RootSize <= 0 {
			bad("root", "want max or a size in MiB")
		}
	}
	b.VG = values["vg"]
	if b.LV = values["lv"]; !lvmRE.MatchString(b.LV) {
		bad("lv", "want a logical volume name of letters, digits, '.', '_', '+' or '-'")
	}
	if b.PESize, err = strconv.Atoi(values["pesize"]); err != nil || b.PESize < 0 || b.PESize > 0 && b.PESize&(b.PESize-1) != 0 {
		bad("pesize", "want a power of two in KiB, e.g. 4096 or 32768, or 0 for LVM's default")
	}
	if b.GrowRoot {
		// cloud-init's growpart grows the last partition and resizefs its
		// file system; neither grows a logical volume, and a partition
		// after the root's leaves it no room.
		needs := func(key, want, why string) {
			bad("growroot", "needs %s = %s, got %q (%s): %s", key, want, values[key], where[key], why)
		}
		switch {
		case b.LVM:
			needs("lvm", "no", "cloud-init's growpart cannot grow a root on LVM")
		case b.Swap != "none":
			needs("swap", "none", "a swap partition may lie after the root and leave it no room to grow")
		case b.Root != "max":
			needs("root", "max", "a root of fixed size does not grow")
		}
	}
	if kind == "metal" {
		problems = append(problems, b.metal(values, bad)...)
	} else {
		for _, k := range []string{"fqdn", "device", "ipaddr", "netmask", "gateway", "nameserver"} {
			if values[k] != "" {
				bad(k, "virtual builds get their network by DHCP; only metal hosts set it")
			}
		}
	}
	if !lvmRE.MatchString(b.VG) {
		bad("vg", "want a volume group name of letters, digits, '.', '_', '+' or '-'")
	}
	return b, problems
}

// metal fills in a host's network and names; a missing key is a problem.
func (b *Build) metal(values map[string]string, bad func(key, format string, args ...any)) []string {
	var problems []string
	for _, k := range []string{"fqdn", "device", "ipaddr", "netmask", "gateway", "nameserver"} {
		if values[k] == "" {
			problems = append(problems, fmt.Sprintf("%s: key %q: a metal host must set it", b.file, k))
		}
	}
	b.Static = true
	b.FQDN = values["fqdn"]
	if b.FQDN != "" {
		if fqdnRE.MatchString(b.FQDN) {
			b.Hostname, b.Domain, _ = strings.Cut(b.FQDN, ".")
			b.VG = b.Hostname + "_rootvg"
		} else {
			bad("fqdn", "want a host name with its domain, e.g. web01.example.com")
		}
	}
	if b.Device = values["device"]; b.Device != "" && !tokenRE.MatchString(b.Device) {
		bad("device", "want an interface name such as eth0")
	}
	for _, k := range []string{"ipaddr", "netmask", "gateway"} {
		if v := values[k]; v != "" && !isIPv4(v) {
			bad(k, "want an IPv4 address")
		}
	}
	b.IPAddr, b.Netmask, b.Gateway = values["ipaddr"], values["netmask"], values["gateway"]
	if v := values["nameserver"]; v != "" {
		for _, ns := range strings.Split(v, ",") {
			ns = strings.TrimSpace(ns)
			if !isIPv4(ns) {
				bad("nameserver", "want IPv4 addresses separated by commas")
				break
			}
			b.Nameservers = append(b.Nameservers, ns)
		}
	}
	return problems
}

func isIPv4(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && ip.To4() != nil && !strings.Contains(s, ":")
}

func yesNo(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "yes", "true", "on":
		return true, true
	case "no", "false", "off":
		return false, true
	}
	return false, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
