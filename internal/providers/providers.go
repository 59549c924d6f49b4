// Package providers is the table of image providers, a row each: which
// Packer builder makes it, in which build group, what kind of image it is,
// the artifact its platform takes and how that is made, and its Vagrant box;
// and how ONLY/EXCEPT select them. The rows hold data only: each consumer
// (convert, catalog, inspect) keeps its code keyed by these values, so this
// package imports none of them.
package providers

import (
	"fmt"
	"sort"
	"strings"

	"gold-standard-images/internal/envvar"
)

// Builder names the Packer builder (and so the hypervisor) a provider uses.
type Builder string

// The Packer builders the providers use.
const (
	VirtualBox Builder = "virtualbox-iso"
	QEMU       Builder = "qemu"
	VMware     Builder = "vmware-iso"
)

// Kind is what a provider's image is for. It chooses the inspection rules
// every image of the kind must pass (internal/inspect) and whether its
// Vagrant box is the image as built or a debug box made from a copy.
type Kind string

// The kinds of image.
const (
	// Cloud: an image a cloud boots (console on the serial port, an
	// initramfs for any host, root locked, no login anyone else holds).
	Cloud Kind = "cloud"
	// VSphere: a virtual machine for vSphere (no login anyone else holds).
	VSphere Kind = "vsphere"
	// Container: a root file system for a container registry, no kernel.
	Container Kind = "container"
	// VagrantImage: a Vagrant box by design, with the vagrant user
	// (ansible/group_vars/all.yml, gsi_vagrant_builds).
	VagrantImage Kind = "vagrant"
)

// Make names how the conversion makes a provider's artifact from its Packer
// output; internal/convert holds the code of each.
type Make string

// The ways an artifact is made.
const (
	AsBuilt       Make = "as built"       // the Packer output itself (an OVA, a qcow2)
	FixedVHD      Make = "fixed VHD"      // a fixed-size VHD (Azure)
	GCPTarball    Make = "GCP tarball"    // disk.raw, sparse, in an oldgnu tar.gz (GCP)
	RootfsTarball Make = "rootfs tarball" // the root file system in a tar.gz (a container image)
	VMwareOVA     Make = "VMware OVA"     // an OVA of a stream-optimized VMDK (ovftool's, or made in Go)
)

// The Vagrant providers of the boxes (a box's provider name in a Vagrant
// catalog and in its metadata.json).
const (
	VagrantVirtualBox = "virtualbox"
	VagrantLibvirt    = "libvirt"
	VagrantVMware     = "vmware_desktop"
)

// Provider is one target platform of the images.
type Provider struct {
	Name    string  // folder and build name, e.g. "aws"
	Builder Builder // Packer builder that makes its disk
	Group   int     // build group: 1 runs (VirtualBox) before 2 (QEMU, VMware)
	Kind    Kind    // what the image is for
	// Input is the extension of the Packer output the conversion reads,
	// <vm_name>-<version>_<provider>.<Input>.
	Input string
	// Artifact is the extension of the file its platform takes,
	// <vm_name>-<version>_<provider>.<Artifact>, and Make how it is made.
	Artifact string
	Make     Make
	// Box is the Vagrant provider of its Vagrant box (VagrantLibvirt, ...).
	Box string
	// RootLocked: its playbook locks root's password (the role
	// random_password); `mage artifacts:inspect` proves it.
	RootLocked bool
}

// All lists every provider, in build order.
var All = []Provider{
	{Name: "aws", Builder: VirtualBox, Group: 1, Kind: Cloud, Input: "ova", Artifact: "ova", Make: AsBuilt, Box: VagrantVirtualBox, RootLocked: true},
	{Name: "virtualbox", Builder: VirtualBox, Group: 1, Kind: VagrantImage, Input: "ova", Artifact: "ova", Make: AsBuilt, Box: VagrantVirtualBox, RootLocked: true},
	{Name: "azure", Builder: QEMU, Group: 2, Kind: Cloud, Input: "qcow2", Artifact: "vhd", Make: FixedVHD, Box: VagrantLibvirt, RootLocked: true},
	{Name: "docker", Builder: QEMU, Group: 2, Kind: Container, Input: "qcow2", Artifact: "tar.gz", Make: RootfsTarball, Box: VagrantLibvirt, RootLocked: true},
	{Name: "gcp", Builder: QEMU, Group: 2, Kind: Cloud, Input: "qcow2", Artifact: "tar.gz", Make: GCPTarball, Box: VagrantLibvirt, RootLocked: true},
	{Name: "openstack", Builder: QEMU, Group: 2, Kind: Cloud, Input: "qcow2", Artifact: "qcow2", Make: AsBuilt, Box: VagrantLibvirt, RootLocked: true},
	{Name: "vmware", Builder: VMware, Group: 2, Kind: VSphere, Input: "vmx", Artifact: "ova", Make: VMwareOVA, Box: VagrantVMware},
}

// DebugBox says whether the provider's Vagrant box is a debug box: made by
// the conversion from a copy of the disk with the vagrant user added, since
// the image itself has none; only a VagrantImage's box is the image as built.
// A debug box goes into a Vagrant catalog of its own.
func (p Provider) DebugBox() bool { return p.Kind != VagrantImage }

// Ships says whether the image goes to a cloud, vSphere or a registry (all
// but a VagrantImage), so that no login anyone else holds the key of may be
// in it.
func (p Provider) Ships() bool { return p.Kind != VagrantImage }

// IsCloud says whether the image is a cloud's.
func (p Provider) IsCloud() bool { return p.Kind == Cloud }

// HasKernel says whether the image boots a kernel of its own (all but a
// Container).
func (p Provider) HasKernel() bool { return p.Kind != Container }

// LocksRoot says whether root's password is locked on the image.
func (p Provider) LocksRoot() bool { return p.RootLocked }

// PackerSource is the name of the provider's source in the Packer templates
// (`-only` selector), e.g. "virtualbox-iso.aws".
func (p Provider) PackerSource() string { return string(p.Builder) + "." + p.Name }

// Names returns the names of ps in order.
func Names(ps []Provider) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names
}

// Lookup returns the provider called name.
func Lookup(name string) (Provider, bool) {
	for _, p := range All {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// Select returns the providers chosen by the comma-separated lists only and
// except (the ONLY and EXCEPT environment variables), in build order. Empty
// only means all. Unknown names are an error that lists the known ones.
func Select(only, except string) ([]Provider, error) {
	onlySet, err := parseList("ONLY", only)
	if err != nil {
		return nil, err
	}
	exceptSet, err := parseList("EXCEPT", except)
	if err != nil {
		return nil, err
	}
	var out []Provider
	for _, p := range All {
		if (len(onlySet) == 0 || onlySet[p.Name]) && !exceptSet[p.Name] {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ONLY=%q and EXCEPT=%q leave no provider to build", only, except)
	}
	return out, nil
}

// SelectFromEnv is Select with ONLY and EXCEPT read through getenv.
func SelectFromEnv(getenv func(string) string) ([]Provider, error) {
	return Select(envvar.Only.Get(getenv), envvar.Except.Get(getenv))
}

func parseList(variable, list string) (map[string]bool, error) {
	set := map[string]bool{}
	var unknown []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(strings.ToLower(name))
		if name == "" {
			continue
		}
		if _, ok := Lookup(name); !ok {
			unknown = append(unknown, fmt.Sprintf("%q", name))
			continue
		}
		set[name] = true
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%s names unknown provider(s) %s; known: %s", variable, strings.Join(unknown, ", "), strings.Join(Names(All), ", "))
	}
	if len(set) == 0 && strings.TrimSpace(list) != "" {
		return nil, fmt.Errorf("%s=%q names no provider; known: %s (leave it unset for all)", variable, list, strings.Join(Names(All), ", "))
	}
	return set, nil
}

// Groups splits ps into the build groups, in group order, leaving out empty ones.
func Groups(ps []Provider) [][]Provider {
	byGroup := map[int][]Provider{}
	var keys []int
	for _, p := range ps {
		if _, ok := byGroup[p.Group]; !ok {
			keys = append(keys, p.Group)
		}
		byGroup[p.Group] = append(byGroup[p.Group], p)
	}
	sort.Ints(keys)
	out := make([][]Provider, 0, len(keys))
	for _, k := range keys {
		out = append(out, byGroup[k])
	}
	return out
}
