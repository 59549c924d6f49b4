package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gold-standard-images/internal/ansiblecore"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/providers"
)

// HostTool is a program a build needs on the host.
type HostTool struct {
	Name     string              // program looked up in PATH
	Builders []providers.Builder // builders that need it
	// Converts says which providers need it whatever their builder (a
	// conversion's tool), read from their rows.
	Converts func(providers.Provider) bool
	Install  string // how to get it
}

// HostTools lists the programs the builds need, per Packer builder or
// provider's row; a tool with neither is needed by every build.
var HostTools = []HostTool{
	{Name: "ansible-playbook", Install: "apt-get install ansible"},
	{Name: "qemu-system-x86_64", Builders: []providers.Builder{providers.QEMU}, Install: "apt-get install qemu-system-x86"},
	{Name: "qemu-img", Builders: []providers.Builder{providers.QEMU}, Converts: readsDisk, Install: "apt-get install qemu-utils"},
	{Name: "guestfish", Install: "apt-get install libguestfs-tools (extracts the docker rootfs, adds the vagrant user to the debug boxes; the inspect step opens every image with it)"},
	{Name: "VBoxManage", Builders: []providers.Builder{providers.VirtualBox}, Install: "install VirtualBox 7 (Debian 12 has no package in main: https://www.virtualbox.org/wiki/Linux_Downloads)"},
	{Name: "vmrun", Builders: []providers.Builder{providers.VMware}, Install: "install VMware Workstation (no Debian package)"},
}

// readsDisk says whether the conversion of p's Packer output runs qemu-img:
// every one but an OVA shipped as built with the image as its own Vagrant
// box (it copies the OVA, reading no disk); a debug box, another input or
// another Make check or convert the disk (internal/convert).
func readsDisk(p providers.Provider) bool {
	return p.Input != "ova" || p.Make != providers.AsBuilt || p.DebugBox()
}

// geteuid is os.Geteuid; tests change it.
var geteuid = os.Geteuid

// BootstrapTools are what a family without an installer (config.Bootstrap)
// needs besides the conversions' tools.
var BootstrapTools = []HostTool{
	{Name: "mmdebstrap", Install: "apt-get install mmdebstrap"},
}

// SignatureTools check an OS definition's clear-signed checksum file
// (iso_checksum_file) when the ISO is downloaded.
var SignatureTools = []string{"gpg", "gpgv"}

// OptionalTools are reported when absent but do not stop a build.
var OptionalTools = []HostTool{
	{Name: "ovftool", Builders: []providers.Builder{providers.VMware}, Install: "VMware OVF Tool; without it the vmware OVA is made with qemu-img"},
}

// Preflight checks, before anything starts, that the host has every tool the
// selected providers need and the SSH keys the templates use. It reports all
// problems at once. getenv supplies PATH and QEMU_ACCELERATOR. It also
// returns the QEMU accelerator: QEMU_ACCELERATOR when set, else "kvm" when
// kvmDevice runs a guest (kvm.Probe), else "tcg"; with QEMU builds, a note
// says which and why.
//
// checksumFile is the OS definition's iso_checksum_file: when set, gpg and
// gpgv are needed too.
func Preflight(ctx context.Context, root string, selected []providers.Provider, checksumFile string, getenv func(string) string, kvmDevice string) (accelerator string, notes []string, err error) {
	path := envvar.Path.Get(getenv)
	var problems []string
	if checksumFile != "" {
		for _, name := range SignatureTools {
			if !lookPath(name, path) {
				problems = append(problems, fmt.Sprintf("%s (needed to check the ISO's signed %s): apt-get install gnupg", name, checksumFile))
			}
		}
	}
	for _, t := range HostTools {
		users := needing(t, selected)
		if len(users) == 0 || lookPath(t.Name, path) {
			continue
		}
		problems = append(problems, fmt.Sprintf("%s (needed by %s): %s", t.Name, strings.Join(users, ", "), t.Install))
	}
	for _, t := range OptionalTools {
		if users := needing(t, selected); len(users) > 0 && !lookPath(t.Name, path) {
			notes = append(notes, fmt.Sprintf("%s not found (%s)", t.Name, t.Install))
		}
	}
	for _, key := range []string{"keys/packer", "keys/packer.pub", "keys/vagrant.pub"} {
		if _, err := os.Stat(filepath.Join(root, key)); err != nil {
			problems = append(problems, fmt.Sprintf("%s is missing: run `mage keys`", key))
		}
	}

	accelerator = "tcg"
	if usesBuilder(selected, providers.QEMU) {
		choice, err := kvm.Choose(ctx, getenv, kvmDevice)
		if err != nil {
			problems = append(problems, err.Error())
		} else {
			accelerator = choice.Accelerator
			notes = append(notes, choice.Line)
		}
	}

	if len(problems) > 0 {
		msg := "checking the host before building: missing:\n  " + strings.Join(problems, "\n  ")
		if except := providersMissingTools(selected, path); len(except) > 0 {
			msg += fmt.Sprintf("\ninstall them, or leave those providers out with EXCEPT=%s (or choose with ONLY=...)", strings.Join(except, ","))
		}
		return accelerator, notes, errors.New(msg)
	}
	return accelerator, notes, nil
}

// needing returns the names of the selected providers that need t.
func needing(t HostTool, selected []providers.Provider) []string {
	var names []string
	for _, p := range selected {
		every := t.Builders == nil && t.Converts == nil
		if every || slices.Contains(t.Builders, p.Builder) || (t.Converts != nil && t.Converts(p)) {
			names = append(names, p.Name)
		}
	}
	return names
}

// providersMissingTools lists the selected providers that lack a tool of
// their own (leaving them out helps; a tool all need does not).
func providersMissingTools(selected []providers.Provider, path string) []string {
	var out []string
	for _, p := range selected {
		for _, t := range HostTools {
			own := t.Builders != nil || t.Converts != nil
			if own && len(needing(t, []providers.Provider{p})) > 0 && !lookPath(t.Name, path) {
				out = append(out, p.Name)
				break
			}
		}
	}
	return out
}

func usesBuilder(ps []providers.Provider, b providers.Builder) bool {
	for _, p := range ps {
		if p.Builder == b {
			return true
		}
	}
	return false
}

// lookPath reports whether name is an executable file in one of the
// folders of path (a PATH value).
func lookPath(name, path string) bool { return findPath(name, path) != "" }

// findPath is the first executable file called name in the folders of path
// (a PATH value), or "".
func findPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		info, err := os.Stat(p)
		if err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// checkAnsible refuses an ansible-core that cannot manage the OS's major
// release (ansiblecore.Spans); an ansible that does not say its version
// gives a note. A missing ansible is Preflight's to report.
func checkAnsible(ctx context.Context, major int, getenv func(string) string) (note string, err error) {
	bin := findPath("ansible", envvar.Path.Get(getenv))
	if bin == "" {
		return "", nil
	}
	v := ansiblecore.Version(ctx, bin)
	if v == ansiblecore.Unknown {
		return fmt.Sprintf("%s --version did not say its ansible-core version; not checked against EL %d", bin, major), nil
	}
	if err := ansiblecore.Check(v, major); err != nil {
		return "", fmt.Errorf("preflight: %w", err)
	}
	return "", nil
}

type preflightStep struct{ b *build }

func (s preflightStep) String() string {
	return fmt.Sprintf("preflight: %s for %s", s.b.cfg.OS.VMName, strings.Join(providers.Names(s.b.selected), ", "))
}

func (s preflightStep) Run(ctx context.Context) error {
	acc, notes, err := Preflight(ctx, s.b.cfg.Root, s.b.selected, s.b.cfg.OS.ISOChecksumFile, s.b.opts.Getenv, s.b.opts.KVMDevice)
	if s.b.cfg.OS.Installer() == config.Bootstrap {
		var missing []string
		for _, t := range BootstrapTools {
			if !lookPath(t.Name, envvar.Path.Get(s.b.opts.Getenv)) {
				missing = append(missing, fmt.Sprintf("%s (makes the root file system of %s): %s", t.Name, s.b.cfg.OS.VMName, t.Install))
			}
		}
		if len(missing) > 0 {
			err = errors.Join(err, fmt.Errorf("preflight: missing on this host:\n  %s", strings.Join(missing, "\n  ")))
		}
		if geteuid() != 0 {
			err = errors.Join(err, fmt.Errorf("preflight: %s is bootstrapped with mmdebstrap --mode=root, which needs root: run the build as root (sudo)", s.b.cfg.OS.VMName))
		}
	} else if err == nil {
		var note string
		note, err = checkAnsible(ctx, config.Major(s.b.cfg.OS.OSVersion), s.b.opts.Getenv)
		if note != "" {
			notes = append(notes, note)
		}
	}
	for _, n := range notes {
		fmt.Fprintf(s.b.opts.Out, "   note: %s\n", n)
	}
	s.b.accelerator = acc
	return err
}
