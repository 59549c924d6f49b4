package providers_test

import (
	"slices"
	"testing"

	"gold-standard-images/internal/catalog"
	"gold-standard-images/internal/convert"
	"gold-standard-images/internal/inspect"
	"gold-standard-images/internal/providers"
)

// TestAScratchProviderIsTakenFromItsRowAlone adds a row to All and shows
// that the conversion, the Vagrant catalog and the inspector take it with no
// edit of theirs (the rest of a new provider is its playbook, its Packer
// source and its build definition: CONTRIBUTING.md, "Adding a provider").
func TestAScratchProviderIsTakenFromItsRowAlone(t *testing.T) {
	for _, tc := range []struct {
		row       providers.Provider
		debugBox  bool
		inspected inspect.Source
		rules     []string // rules it must get from its kind
		notRules  []string
	}{
		{providers.Provider{Name: "scratchcloud", Builder: providers.QEMU, Group: 2, Kind: providers.Cloud,
			Input: "qcow2", Artifact: "tar.gz", Make: providers.GCPTarball, Box: providers.VagrantLibvirt, RootLocked: true},
			true, inspect.Source{Path: "x.tar.gz", Format: inspect.GCPTarball},
			[]string{"root locked", "no vagrant user", "no rhgb or quiet on the kernel line", "every kernel has an initramfs"}, nil},
		{providers.Provider{Name: "scratchbox", Builder: providers.VirtualBox, Group: 1, Kind: providers.VagrantImage,
			Input: "ova", Artifact: "ova", Make: providers.AsBuilt, Box: providers.VagrantVirtualBox},
			false, inspect.Source{Path: "x.ova", Format: inspect.OVA},
			[]string{"every kernel has an initramfs"}, []string{"root locked", "no vagrant user", "no rhgb or quiet on the kernel line"}},
		{providers.Provider{Name: "scratchctr", Builder: providers.QEMU, Group: 2, Kind: providers.Container,
			Input: "qcow2", Artifact: "tar.gz", Make: providers.RootfsTarball, Box: providers.VagrantLibvirt, RootLocked: true},
			true, inspect.Source{Path: "x.tar.gz", Format: inspect.Rootfs},
			[]string{"root locked", "no passwordless sudo"}, []string{"every kernel has an initramfs", "NOZEROCONF=yes"}},
	} {
		t.Run(tc.row.Name, func(t *testing.T) {
			defer func(all []providers.Provider) { providers.All = all }(providers.All)
			providers.All = append(slices.Clone(providers.All), tc.row)
			p := tc.row.Name

			if !slices.Contains(convert.Providers(), p) || !convert.MakesBox(p) || convert.MakesDebugBox(p) != tc.debugBox {
				t.Errorf("convert: providers %v, box %v, debug box %v; want it, a box, debug %v", convert.Providers(), convert.MakesBox(p), convert.MakesDebugBox(p), tc.debugBox)
			}
			if got := catalog.BoxProviders()[p]; got != tc.row.Box {
				t.Errorf("catalog: Vagrant provider %q, want %q", got, tc.row.Box)
			}
			if got, want := catalog.CatalogName("vm", p), map[bool]string{true: "vm-" + p, false: "vm"}[tc.debugBox]; got != want {
				t.Errorf("catalog: its box goes into %q, want %q", got, want)
			}
			if got, _ := inspect.SourceOf(p, "", "x"); got != tc.inspected {
				t.Errorf("inspect: opens %+v, want %+v", got, tc.inspected)
			}
			var selected []string
			for _, r := range inspect.Select(inspect.Table, p, inspect.RHEL) {
				selected = append(selected, r.Name)
			}
			for _, rule := range tc.rules {
				if !slices.Contains(selected, rule) {
					t.Errorf("inspect: rule %q not selected", rule)
				}
			}
			for _, rule := range tc.notRules {
				if slices.Contains(selected, rule) {
					t.Errorf("inspect: rule %q selected", rule)
				}
			}
		})
	}
}
