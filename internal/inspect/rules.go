package inspect

import (
	"slices"
	"strings"

	"gold-standard-images/internal/providers"
)

// Kind is what a rule checks; its Args say against what.
type Kind int

// The kinds of check. Each reads what Image gathered from the disk.
const (
	// FileExists: the file Args[0] exists.
	FileExists Kind = iota
	// FileHas: a line of the file Args[0] matches the regular expression Args[1].
	FileHas
	// FileLacks: no line of the file Args[0] (a missing file has none)
	// matches the regular expression Args[1].
	FileLacks
	// NoFiles: no path matches the glob Args[0].
	NoFiles
	// RootLocked: root's password field in /etc/shadow starts with "!".
	RootLocked
	// NoBuildKey: root's authorized_keys holds no copy of the build's SSH
	// key (Options.BuildKey; without it, no key at all).
	NoBuildKey
	// SSHD: sshd's effective setting Args[0] (first value wins, drop-ins
	// of an Include where they are included) is Args[1].
	SSHD
	// UnitEnabled: the systemd unit Args[0] is enabled (a link to it in a
	// .wants folder of /etc/systemd/system).
	UnitEnabled
	// Installed: the packages Args are installed (libguestfs reads the rpm
	// or dpkg database).
	Installed
	// NotInstalled: none of the packages Args is installed.
	NotInstalled
	// KernelArgs: every boot entry (grub.cfg linux lines, BLS entries) and
	// GRUB_CMDLINE_LINUX in /etc/default/grub have each argument of Args.
	KernelArgs
	// NoKernelArgs: none of them has any argument of Args.
	NoKernelArgs
	// InitramfsModules: the initramfs of every installed kernel holds the
	// modules Args, or the kernel has them built in.
	InitramfsModules
	// InitramfsModulesShipped: as InitramfsModules, for those of Args the
	// kernel ships at all (modules.dep or modules.builtin): drivers that
	// only some kernels have (ena, xen-blkfront).
	InitramfsModulesShipped
	// NotInRootfs: the root file system has nothing below the folders Args
	// (the folders themselves may be there, empty).
	NotInRootfs
	// NoKnownKey: no authorized_keys of any account (root's and every
	// home's .ssh/authorized_keys and authorized_keys2) holds a known key:
	// Vagrant's insecure keys or one of Options.KnownKeys (the site's
	// keys/packer.pub and keys/vagrant.pub).
	NoKnownKey
	// NoPasswordlessSudo: no line of /etc/sudoers or /etc/sudoers.d/* lets
	// anyone sudo without a password (NOPASSWD, Defaults !authenticate).
	NoPasswordlessSudo
)

// kindNames name the kinds in test failures and listings.
var kindNames = map[Kind]string{
	FileExists: "FileExists", FileHas: "FileHas", FileLacks: "FileLacks", NoFiles: "NoFiles",
	RootLocked: "RootLocked", NoBuildKey: "NoBuildKey", SSHD: "SSHD", UnitEnabled: "UnitEnabled",
	Installed: "Installed", NotInstalled: "NotInstalled", KernelArgs: "KernelArgs",
	NoKernelArgs: "NoKernelArgs", InitramfsModules: "InitramfsModules",
	InitramfsModulesShipped: "InitramfsModulesShipped", NotInRootfs: "NotInRootfs",
	NoKnownKey: "NoKnownKey", NoPasswordlessSudo: "NoPasswordlessSudo",
}

func (k Kind) String() string { return kindNames[k] }

// inTarball says whether the kind can be checked on a rootfs tarball (a
// file listing and file contents; no package database, no boot files).
func (k Kind) inTarball() bool {
	switch k {
	case FileExists, FileHas, FileLacks, NoFiles, RootLocked, NoBuildKey, SSHD, UnitEnabled, NotInRootfs, NoKnownKey, NoPasswordlessSudo:
		return true
	}
	return false
}

// Rule is one row of the table: what must hold on the image of the
// providers and OS families it names.
type Rule struct {
	// Name says what holds when the rule passes, printed on its line.
	Name string
	// Providers the rule applies to, by name: a platform's own checks
	// (its agent, drivers, console). Nil with Where nil is every provider.
	Providers []string
	// Where picks the providers the rule applies to by their row
	// (providers.Provider.IsCloud, Ships, HasKernel, LocksRoot), so a new
	// provider gets the rules of its kind from its row.
	Where func(providers.Provider) bool
	// Families the rule applies to (Family); nil is every family.
	Families []string
	Kind     Kind
	Args     []string
}

// Applies says whether the rule is one for provider's image of family.
func (r Rule) Applies(provider, family string) bool {
	return r.appliesTo(provider) && (r.Families == nil || slices.Contains(r.Families, family))
}

// appliesTo says whether the rule is one for provider's image, whatever
// its family.
func (r Rule) appliesTo(provider string) bool {
	if r.Where != nil {
		p, ok := providers.Lookup(provider)
		return ok && r.Where(p)
	}
	return r.Providers == nil || slices.Contains(r.Providers, provider)
}

// providerNames are the names of the providers the rule is for, sorted when
// Where picks them; nil is every provider.
func (r Rule) providerNames() []string {
	if r.Where == nil {
		return r.Providers
	}
	var names []string
	for _, p := range providers.All {
		if r.Where(p) {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	return names
}

// Select returns the rules of rules that apply to provider and family, in
// table order.
func Select(rules []Rule, provider, family string) []Rule {
	var out []Rule
	for _, r := range rules {
		if r.Applies(provider, family) {
			out = append(out, r)
		}
	}
	return out
}

// The OS families rules are written for, chosen by what libguestfs detects
// in the image (Family).
const (
	RHEL   = "rhel"
	Debian = "debian"
)

// Family is the family of a distribution as libguestfs names it
// (inspect-get-distro) or as /etc/os-release's ID does; "" for others.
func Family(distro string) string {
	switch strings.ToLower(distro) {
	case "centos", "rhel", "redhat", "redhat-based", "rocky", "almalinux", "oraclelinux", "ol", "fedora", "scientificlinux", "circle", "eurolinux":
		return RHEL
	case "debian", "ubuntu", "linuxmint", "kalilinux", "kali":
		return Debian
	}
	return ""
}

// Provider groups of the table, chosen by the providers' rows.
var (
	clouds       = providers.Provider.IsCloud
	lockedRoot   = providers.Provider.LocksRoot
	shipped      = providers.Provider.Ships // to a cloud, vSphere or a registry: all but the Vagrant box
	disks        = providers.Provider.HasKernel
	el           = []string{RHEL}
	rhgbQuiet    = []string{"rhgb", "quiet"}
	buildFiles   = []string{"/boot", "/lib/modules", "/usr/lib/modules", "/lib/firmware", "/usr/lib/firmware"}
	sysctlGCP    = "/etc/sysctl.d/60-gsi-gcp.conf"
	cloudInitPkg = []string{"cloud-init"}
)

// Table is the one table of rules `mage artifacts:inspect` checks. Rules
// without Families hold for every image (the e2e test's Debian fixture
// guest too); the EL ones check what the Ansible roles of ansible/ do on
// the RHEL family.
var Table = []Rule{
	// Every image.
	{Name: "/etc/gold-standard-image records the build", Kind: FileHas, Args: []string{"/etc/gold-standard-image", `^build=\S`}},
	{Name: "no SSH host keys", Kind: NoFiles, Args: []string{"/etc/ssh/ssh_host_*"}},
	{Name: "no build key in root's authorized_keys", Kind: NoBuildKey},
	{Name: "sshd: PasswordAuthentication no", Kind: SSHD, Args: []string{"PasswordAuthentication", "no"}},
	{Name: "sshd: PermitRootLogin prohibit-password", Kind: SSHD, Args: []string{"PermitRootLogin", "prohibit-password"}},
	{Name: "no persistent MAC rules", Kind: NoFiles, Args: []string{"/etc/udev/rules.d/70-persistent-net.rules"}},
	{Name: "root locked", Where: lockedRoot, Kind: RootLocked},

	// The images that ship (not Vagrant boxes): no login anyone else holds
	// the key of. Their Vagrant boxes are made from a copy of the disk.
	{Name: "no vagrant user", Where: shipped, Kind: FileLacks, Args: []string{"/etc/passwd", `^vagrant:`}},
	{Name: "no known key in any authorized_keys", Where: shipped, Kind: NoKnownKey},
	{Name: "no passwordless sudo", Where: shipped, Kind: NoPasswordlessSudo},

	// docker: a container has no kernel, firmware, bootloader or initramfs.
	{Name: "no kernel, modules, firmware, bootloader or initramfs", Providers: []string{"docker"}, Kind: NotInRootfs, Args: buildFiles},

	// The clouds (EL): console on the serial port, cloud-ready initramfs.
	{Name: "no rhgb or quiet on the kernel line", Where: clouds, Families: el, Kind: NoKernelArgs, Args: rhgbQuiet},
	{Name: "initramfs non-host-only (dracut.conf.d)", Where: clouds, Families: el, Kind: FileHas, Args: []string{"/etc/dracut.conf.d/gsi-cloud.conf", `^hostonly="?no"?`}},
	{Name: "NOZEROCONF=yes", Where: clouds, Families: el, Kind: FileHas, Args: []string{"/etc/sysconfig/network", `^NOZEROCONF="?yes"?`}},
	{Name: "no swap on the OS disk", Providers: []string{"azure"}, Families: el, Kind: FileLacks, Args: []string{"/etc/fstab", `^\s*[^#]\S*\s+\S+\s+swap\s`}},
	{Name: "no crashkernel=auto on the kernel line", Providers: []string{"azure", "gcp"}, Families: el, Kind: NoKernelArgs, Args: []string{"crashkernel=auto"}},
	{Name: "cloud-init's default user is named after the distribution, with sudo", Providers: []string{"aws", "azure", "openstack"}, Families: el, Kind: FileHas, Args: []string{"/etc/cloud/cloud.cfg.d/50_local.cfg", `^\s+sudo: \["ALL=\(ALL\) NOPASSWD:ALL"\]`}},

	// azure
	{Name: "initramfs has the Hyper-V drivers", Providers: []string{"azure"}, Families: el, Kind: InitramfsModules, Args: []string{"hv_vmbus", "hv_netvsc", "hv_storvsc"}},
	{Name: "Azure serial console on the kernel line", Providers: []string{"azure"}, Families: el, Kind: KernelArgs, Args: []string{"console=ttyS0", "earlyprintk=ttyS0", "rootdelay=300", "net.ifnames=0"}},
	{Name: "WALinuxAgent installed", Providers: []string{"azure"}, Families: el, Kind: Installed, Args: []string{"WALinuxAgent"}},
	{Name: "waagent enabled", Providers: []string{"azure"}, Families: el, Kind: UnitEnabled, Args: []string{"waagent.service"}},
	{Name: "waagent makes no swap on the resource disk", Providers: []string{"azure"}, Families: el, Kind: FileHas, Args: []string{"/etc/waagent.conf", `^ResourceDisk\.EnableSwap=n`}},

	// gcp
	{Name: "initramfs has the virtio SCSI, net and PCI drivers and NVMe", Providers: []string{"gcp"}, Families: el, Kind: InitramfsModules, Args: []string{"virtio_scsi", "virtio_net", "virtio_pci", "nvme"}},
	{Name: "GCP serial console on the kernel line", Providers: []string{"gcp"}, Families: el, Kind: KernelArgs, Args: []string{"console=ttyS0,38400n8"}},
	{Name: "Google guest environment installed", Providers: []string{"gcp"}, Families: el, Kind: Installed, Args: []string{"google-compute-engine", "google-guest-agent"}},
	{Name: "google-guest-agent enabled", Providers: []string{"gcp"}, Families: el, Kind: UnitEnabled, Args: []string{"google-guest-agent.service"}},
	{Name: "GCP sysctls", Providers: []string{"gcp"}, Families: el, Kind: FileHas, Args: []string{sysctlGCP, `^kernel\.kptr_restrict\s*=\s*1`}},
	{Name: "MTU 1460", Providers: []string{"gcp"}, Families: el, Kind: FileHas, Args: []string{"/etc/NetworkManager/conf.d/60-gsi-gcp-mtu.conf", `^ethernet\.mtu\s*=\s*1460`}},
	{Name: "sshd: ClientAliveInterval 420 (GCP)", Providers: []string{"gcp"}, Kind: SSHD, Args: []string{"ClientAliveInterval", "420"}},
	{Name: "sshd: X11Forwarding no (GCP)", Providers: []string{"gcp"}, Kind: SSHD, Args: []string{"X11Forwarding", "no"}},

	// aws
	{Name: "initramfs has the Xen, NVMe and ENA drivers the kernel ships", Providers: []string{"aws"}, Families: el, Kind: InitramfsModulesShipped, Args: []string{"xen_blkfront", "xen_netfront", "nvme", "ena"}},
	{Name: "AWS serial console on the kernel line", Providers: []string{"aws"}, Families: el, Kind: KernelArgs, Args: []string{"console=tty0", "console=ttyS0,115200n8"}},
	{Name: "cloud-init installed", Providers: []string{"aws", "openstack"}, Families: el, Kind: Installed, Args: cloudInitPkg},
	{Name: "cloud-init enabled", Providers: []string{"aws", "openstack"}, Families: el, Kind: UnitEnabled, Args: []string{"cloud-init.service"}},

	// openstack
	{Name: "initramfs has the virtio block, SCSI and net drivers", Providers: []string{"openstack"}, Families: el, Kind: InitramfsModules, Args: []string{"virtio_blk", "virtio_scsi", "virtio_net"}},
	{Name: "OpenStack serial console on the kernel line", Providers: []string{"openstack"}, Families: el, Kind: KernelArgs, Args: []string{"console=tty0", "console=ttyS0,115200n8"}},
	{Name: "qemu-guest-agent and acpid installed", Providers: []string{"openstack"}, Families: el, Kind: Installed, Args: []string{"qemu-guest-agent", "acpid"}},
	{Name: "acpid enabled", Providers: []string{"openstack"}, Families: el, Kind: UnitEnabled, Args: []string{"acpid.service"}},

	// virtualbox, vmware
	{Name: "no compilers or kernel headers left from the guest additions", Providers: []string{"virtualbox"}, Families: el, Kind: NotInstalled, Args: []string{"gcc", "kernel-devel", "kernel-headers"}},
	{Name: "open-vm-tools installed", Providers: []string{"vmware"}, Families: el, Kind: Installed, Args: []string{"open-vm-tools"}},
	{Name: "vmtoolsd enabled", Providers: []string{"vmware"}, Families: el, Kind: UnitEnabled, Args: []string{"vmtoolsd.service"}},

	// Every disk image (EL): a kernel that boots.
	{Name: "every kernel has an initramfs", Where: disks, Families: el, Kind: InitramfsModules},
}
