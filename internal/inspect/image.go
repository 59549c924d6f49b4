package inspect

import (
	"bufio"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Image is what was read from one image: enough for every rule selected.
type Image struct {
	// Distro is libguestfs' inspect-get-distro (or os-release's ID for a
	// rootfs tarball); Family follows from it.
	Distro, Family string
	// Files holds the content of each file read; a missing file has no key.
	Files map[string]string
	// Paths lists every path of a rootfs tarball, or the matches of the
	// globs a disk's rules asked for.
	Paths []string
	// Packages are the installed package names; nil when not read.
	Packages map[string]bool
	// Rootfs says the image is a root file system tarball (a container's),
	// which may have no sshd at all.
	Rootfs bool
	// Kernels are the installed kernels (/boot/vmlinuz-*), each with its
	// initramfs' modules; nil when not read.
	Kernels []Kernel
}

// Kernel is one installed kernel and what its initramfs holds.
type Kernel struct {
	Version   string
	Initramfs string          // path in the image; "" when none was found
	Modules   map[string]bool // modules in the initramfs (ModuleName)
	Builtin   map[string]bool // modules built into the kernel (modules.builtin)
	Shipped   map[string]bool // modules the kernel has at all (modules.dep and builtin)
	Err       error           // reading the initramfs failed
}

// glob lists the paths of the image matching pattern.
func (im *Image) glob(pattern string) []string {
	var out []string
	for _, p := range im.Paths {
		if ok, _ := path.Match(pattern, p); ok {
			out = append(out, p)
		}
	}
	return out
}

// lines returns the lines of file, and whether it exists.
func (im *Image) lines(file string) ([]string, bool) {
	data, ok := im.Files[file]
	if !ok {
		return nil, false
	}
	return strings.Split(data, "\n"), true
}

// Check runs rule r on the image: nil when it holds, else why not.
// buildKey is the build's public key (NoBuildKey); known are further
// public keys no image may authorize (NoKnownKey, beside Vagrant's
// insecure keys).
func (im *Image) Check(r Rule, buildKey string, known ...string) error {
	switch r.Kind {
	case FileExists:
		if _, ok := im.Files[r.Args[0]]; !ok {
			return fmt.Errorf("%s is missing", r.Args[0])
		}
	case FileHas, FileLacks:
		re, err := regexp.Compile(r.Args[1])
		if err != nil {
			return fmt.Errorf("rule pattern %q: %w", r.Args[1], err)
		}
		lines, ok := im.lines(r.Args[0])
		if !ok && r.Kind == FileHas {
			return fmt.Errorf("%s is missing", r.Args[0])
		}
		i := slices.IndexFunc(lines, re.MatchString)
		if r.Kind == FileHas && i < 0 {
			return fmt.Errorf("%s has no line matching %q", r.Args[0], r.Args[1])
		}
		if r.Kind == FileLacks && i >= 0 {
			return fmt.Errorf("%s line %d matches %q: %q", r.Args[0], i+1, r.Args[1], lines[i])
		}
	case NoFiles:
		if found := im.glob(r.Args[0]); len(found) > 0 {
			return fmt.Errorf("found %s", strings.Join(found, ", "))
		}
	case RootLocked:
		return im.rootLocked()
	case NoBuildKey:
		return im.noBuildKey(buildKey)
	case NoKnownKey:
		return im.noKnownKey(known)
	case NoPasswordlessSudo:
		return im.noPasswordlessSudo()
	case SSHD:
		if _, ok := im.Files[sshdConfig]; !ok && im.Rootfs {
			return nil // a container without sshd: nothing listens
		}
		got, where := im.sshd(r.Args[0])
		if !strings.EqualFold(got, r.Args[1]) {
			if got == "" {
				return fmt.Errorf("%s is not set (sshd's default applies), want %s", r.Args[0], r.Args[1])
			}
			return fmt.Errorf("%s is %s (%s), want %s", r.Args[0], got, where, r.Args[1])
		}
	case UnitEnabled:
		if len(im.glob("/etc/systemd/system/*.wants/"+r.Args[0])) == 0 {
			return fmt.Errorf("%s is not enabled (no link in /etc/systemd/system/*.wants)", r.Args[0])
		}
	case Installed, NotInstalled:
		if im.Packages == nil {
			return fmt.Errorf("the package database was not read")
		}
		var wrong []string
		for _, p := range r.Args {
			if im.Packages[p] != (r.Kind == Installed) {
				wrong = append(wrong, p)
			}
		}
		if len(wrong) > 0 && r.Kind == Installed {
			return fmt.Errorf("not installed: %s", strings.Join(wrong, ", "))
		}
		if len(wrong) > 0 {
			return fmt.Errorf("installed: %s", strings.Join(wrong, ", "))
		}
	case KernelArgs, NoKernelArgs:
		return im.kernelArgs(r.Args, r.Kind == KernelArgs)
	case InitramfsModules, InitramfsModulesShipped:
		return im.initramfs(r.Args, r.Kind == InitramfsModulesShipped)
	case NotInRootfs:
		var found []string
		for _, p := range im.Paths {
			for _, dir := range r.Args {
				if strings.HasPrefix(p, dir+"/") {
					found = append(found, p)
					break
				}
			}
		}
		if len(found) > 0 {
			more := ""
			if len(found) > 5 {
				more = fmt.Sprintf(" and %d more", len(found)-5)
				found = found[:5]
			}
			return fmt.Errorf("found %s%s", strings.Join(found, ", "), more)
		}
	default:
		return fmt.Errorf("unknown rule kind %d", r.Kind)
	}
	return nil
}

// rootLocked reads root's password field; it never quotes it (a hash).
func (im *Image) rootLocked() error {
	lines, ok := im.lines("/etc/shadow")
	if !ok {
		return fmt.Errorf("/etc/shadow is missing")
	}
	for _, l := range lines {
		if f := strings.SplitN(l, ":", 3); len(f) >= 2 && f[0] == "root" {
			if strings.HasPrefix(f[1], "!") {
				return nil
			}
			return fmt.Errorf("root's password field in /etc/shadow does not start with \"!\"")
		}
	}
	return fmt.Errorf("/etc/shadow has no root line")
}

// noBuildKey looks for buildKey's key (type and base64) in root's
// authorized_keys; without a build key, any key fails.
func (im *Image) noBuildKey(buildKey string) error {
	lines, _ := im.lines("/root/.ssh/authorized_keys")
	want := keyBlob(buildKey)
	for i, l := range lines {
		got := keyBlob(l)
		if got == "" {
			continue
		}
		if want == "" || strings.Contains(l, want) {
			return fmt.Errorf("/root/.ssh/authorized_keys line %d holds %s", i+1, strings.TrimSpace(l))
		}
	}
	return nil
}

// VagrantInsecureKeys are the public halves of the key pairs Vagrant
// publishes for base boxes (hashicorp/vagrant keys/vagrant.pub.rsa and
// keys/vagrant.pub.ed25519): anyone holds their private halves.
var VagrantInsecureKeys = []string{
	"ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key",
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN1YdxBpNlzxDqfJyw/QKow1F+wvG9hXGoqiysfJOn5Y vagrant insecure public key",
}

// isKeysFile says whether p is an authorized_keys file of an account
// (<home>/.ssh/authorized_keys or authorized_keys2, sshd's default).
func isKeysFile(p string) bool {
	base := path.Base(p)
	return path.Base(path.Dir(p)) == ".ssh" && (base == "authorized_keys" || base == "authorized_keys2")
}

// noKnownKey looks for Vagrant's insecure keys and the known keys in every
// authorized_keys file read from the image.
func (im *Image) noKnownKey(known []string) error {
	names := map[string]string{} // key blob -> the key's line, to name it
	for _, k := range append(slices.Clone(VagrantInsecureKeys), known...) {
		for _, l := range strings.Split(k, "\n") {
			if b := keyBlob(l); b != "" {
				names[b] = strings.TrimSpace(l)
			}
		}
	}
	var files []string
	for f := range im.Files {
		if isKeysFile(f) {
			files = append(files, f)
		}
	}
	slices.Sort(files)
	var found []string
	for _, f := range files {
		lines, _ := im.lines(f)
		for i, l := range lines {
			if k, ok := names[keyBlob(l)]; ok {
				found = append(found, fmt.Sprintf("%s line %d holds the known key %q", f, i+1, keyName(k)))
			}
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("%s", strings.Join(found, "; "))
	}
	return nil
}

// keyName is a key's type and comment (its blob shortened), for messages.
func keyName(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return line
	}
	blob := f[1]
	if len(blob) > 16 {
		blob = blob[:8] + "..." + blob[len(blob)-8:]
	}
	return strings.Join(append([]string{f[0], blob}, f[2:]...), " ")
}

// Sudoers files: the main file and its drop-in folder.
const (
	sudoersFile    = "/etc/sudoers"
	sudoersDropins = "/etc/sudoers.d/*"
)

// passwordlessSudo matches a sudoers line that grants sudo without a
// password: the NOPASSWD tag, or the authenticate flag turned off.
var passwordlessSudo = regexp.MustCompile(`\bNOPASSWD\s*:|^\s*Defaults\b.*!\s*authenticate\b`)

// noPasswordlessSudo reads /etc/sudoers and its drop-ins (comments left
// out, continued lines joined) for a rule that needs no password.
func (im *Image) noPasswordlessSudo() error {
	if _, ok := im.Files[sudoersFile]; !ok {
		return nil // no sudo: nobody sudoes at all
	}
	files := []string{sudoersFile}
	for f := range im.Files {
		if ok, _ := path.Match(sudoersDropins, f); ok {
			files = append(files, f)
		}
	}
	slices.Sort(files[1:])
	var found []string
	for _, f := range files {
		lines, _ := im.lines(f)
		for i := 0; i < len(lines); i++ {
			n, l := i+1, lines[i]
			for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
				i++
				l = strings.TrimSuffix(l, "\\") + " " + lines[i]
			}
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, "#") && !strings.HasPrefix(t, "#include") {
				continue
			}
			if passwordlessSudo.MatchString(t) {
				found = append(found, fmt.Sprintf("%s line %d: %s", f, n, t))
			}
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("sudo without a password: %s", strings.Join(found, "; "))
	}
	return nil
}

// keyBlob is the base64 part of an authorized_keys line, "" for none.
func keyBlob(line string) string {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return ""
	}
	f := strings.Fields(line)
	for i, w := range f {
		if strings.HasPrefix(w, "ssh-") || strings.HasPrefix(w, "ecdsa-") || strings.HasPrefix(w, "sk-") {
			if i+1 < len(f) {
				return f[i+1]
			}
		}
	}
	return ""
}

// sshdDropins is where Include lines of sshd_config point on EL 9+ and
// Debian; the gatherers read the files matching it.
const sshdDropins = "/etc/ssh/sshd_config.d/*.conf"

// sshd returns sshd's effective value of key as sshd reads its files: the
// first value outside a Match block wins, Include reads the files in
// place in name order.
// sshdConfig is sshd's configuration; an image without it has no sshd.
const sshdConfig = "/etc/ssh/sshd_config"

func (im *Image) sshd(key string) (value, where string) {
	var walk func(file string, depth int) (string, string)
	walk = func(file string, depth int) (string, string) {
		lines, _ := im.lines(file)
		for i, l := range lines {
			f := strings.Fields(strings.ReplaceAll(l, "=", " "))
			if len(f) < 2 || strings.HasPrefix(f[0], "#") {
				continue
			}
			switch {
			case strings.EqualFold(f[0], "Match"):
				return "", ""
			case strings.EqualFold(f[0], "Include") && depth < 4:
				for _, pat := range f[1:] {
					if !strings.HasPrefix(pat, "/") {
						pat = "/etc/ssh/" + pat
					}
					files := im.glob(pat)
					slices.Sort(files)
					for _, inc := range files {
						if v, w := walk(inc, depth+1); v != "" {
							return v, w
						}
					}
				}
			case strings.EqualFold(f[0], key):
				return f[1], fmt.Sprintf("%s line %d", file, i+1)
			}
		}
		return "", ""
	}
	return walk(sshdConfig, 0)
}

// bootFiles are the files that hold kernel command lines: GRUB's
// configuration (BIOS and UEFI), BLS entries, GRUB's environment (EL 8's
// $kernelopts) and /etc/default/grub.
var bootGlobs = []string{"/boot/grub2/grub.cfg", "/boot/grub/grub.cfg", "/boot/efi/EFI/*/grub.cfg", "/boot/loader/entries/*.conf"}

const (
	grubEnv     = "/boot/grub2/grubenv"
	defaultGrub = "/etc/default/grub"
)

// cmdLines returns every kernel command line of the image, each with where
// it was found.
func (im *Image) cmdLines() (lines, where []string) {
	kernelopts := ""
	if env, ok := im.lines(grubEnv); ok {
		for _, l := range env {
			if v, ok := strings.CutPrefix(l, "kernelopts="); ok {
				kernelopts = v
			}
		}
	}
	for _, g := range bootGlobs {
		for _, file := range im.glob(g) {
			ls, _ := im.lines(file)
			for i, l := range ls {
				f := strings.Fields(l)
				if len(f) == 0 {
					continue
				}
				var args []string
				bls := strings.HasSuffix(file, ".conf")
				switch {
				case bls && f[0] == "options":
					args = f[1:]
				case !bls && len(f) >= 2 && (f[0] == "linux" || f[0] == "linux16" || f[0] == "linuxefi"):
					args = f[2:]
				default:
					continue
				}
				line := strings.ReplaceAll(strings.Join(args, " "), "$kernelopts", kernelopts)
				lines = append(lines, line)
				where = append(where, fmt.Sprintf("%s line %d", file, i+1))
			}
		}
	}
	if ls, ok := im.lines(defaultGrub); ok {
		for i, l := range ls {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "GRUB_CMDLINE_LINUX="); ok {
				lines = append(lines, strings.Trim(v, `"'`))
				where = append(where, fmt.Sprintf("%s line %d", defaultGrub, i+1))
			}
		}
	}
	return lines, where
}

// kernelArgs checks that every command line has (want) or lacks (!want)
// each of args.
func (im *Image) kernelArgs(args []string, want bool) error {
	lines, where := im.cmdLines()
	if len(lines) == 0 {
		return fmt.Errorf("no kernel command line found (%s, %s)", strings.Join(bootGlobs, ", "), defaultGrub)
	}
	var bad []string
	for i, l := range lines {
		have := strings.Fields(l)
		var wrong []string
		for _, a := range args {
			if slices.Contains(have, a) != want {
				wrong = append(wrong, a)
			}
		}
		if len(wrong) > 0 {
			verb := "lacks"
			if !want {
				verb = "has"
			}
			bad = append(bad, fmt.Sprintf("%s %s %s", where[i], verb, strings.Join(wrong, " ")))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// initramfs checks every kernel's initramfs for modules (only those the
// kernel ships when shipped is set).
func (im *Image) initramfs(modules []string, shipped bool) error {
	if len(im.Kernels) == 0 {
		return fmt.Errorf("no kernel found (/boot/vmlinuz-*)")
	}
	var bad []string
	for _, k := range im.Kernels {
		switch {
		case k.Initramfs == "":
			bad = append(bad, fmt.Sprintf("kernel %s has no initramfs", k.Version))
			continue
		case k.Err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", k.Initramfs, k.Err))
			continue
		}
		var missing []string
		for _, m := range modules {
			if shipped && !k.Shipped[m] {
				continue
			}
			if !k.Modules[m] && !k.Builtin[m] {
				missing = append(missing, m)
			}
		}
		if len(missing) > 0 {
			bad = append(bad, fmt.Sprintf("%s lacks %s", k.Initramfs, strings.Join(missing, " ")))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// moduleSet reads modules.builtin or modules.dep: a module path at the
// start of each line.
func moduleSet(text string) map[string]bool {
	set := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		p, _, _ := strings.Cut(sc.Text(), ":")
		if m := ModuleName(strings.TrimSpace(p)); m != "" {
			set[m] = true
		}
	}
	return set
}
