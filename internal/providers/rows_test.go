package providers

import (
	"regexp"
	"slices"
	"testing"
)

func TestEveryRowIsWhole(t *testing.T) {
	builders := map[Builder]int{VirtualBox: 1, QEMU: 2, VMware: 2} // builder: its group
	kinds := []Kind{Cloud, VSphere, Container, VagrantImage}
	makes := []Make{AsBuilt, FixedVHD, GCPTarball, RootfsTarball, VMwareOVA}
	boxes := []string{VagrantVirtualBox, VagrantLibvirt, VagrantVMware}
	name := regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	seen := map[string]bool{}
	for _, p := range All {
		if !name.MatchString(p.Name) || seen[p.Name] {
			t.Errorf("%q: want a unique lower-case name (a folder, a Packer build and an Ansible build)", p.Name)
		}
		seen[p.Name] = true
		if group, ok := builders[p.Builder]; !ok || group != p.Group {
			t.Errorf("%s: builder %q in group %d, want a known builder in its group (%d)", p.Name, p.Builder, p.Group, group)
		}
		if !slices.Contains(kinds, p.Kind) || !slices.Contains(makes, p.Make) || !slices.Contains(boxes, p.Box) {
			t.Errorf("%s: kind %q, make %q, box %q: want one of %q, %q, %q", p.Name, p.Kind, p.Make, p.Box, kinds, makes, boxes)
		}
		if p.Input == "" || p.Artifact == "" || p.Make == AsBuilt && p.Artifact != p.Input {
			t.Errorf("%s: Packer output %q, artifact %q made %s: want both, the same when as built", p.Name, p.Input, p.Artifact, p.Make)
		}
		if (p.Kind == Container) != (p.Make == RootfsTarball) {
			t.Errorf("%s: a %s image made as a %s: only a container is a rootfs tarball, and it always is", p.Name, p.Kind, p.Make)
		}
	}
}
