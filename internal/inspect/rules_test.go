package inspect

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"gold-standard-images/internal/providers"
)

func names(rules []Rule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, r.Name)
	}
	return out
}

func TestTheTableSelectsEachRuleByProviderAndFamily(t *testing.T) {
	for _, tc := range []struct {
		provider, family, rule string
		selected               bool
	}{
		{"azure", RHEL, "initramfs has the Hyper-V drivers", true},
		{"azure", Debian, "initramfs has the Hyper-V drivers", false},
		{"gcp", RHEL, "initramfs has the Hyper-V drivers", false},
		{"gcp", RHEL, "GCP serial console on the kernel line", true},
		{"openstack", RHEL, "GCP serial console on the kernel line", false},
		{"openstack", RHEL, "OpenStack serial console on the kernel line", true},
		{"aws", RHEL, "initramfs has the Xen, NVMe and ENA drivers the kernel ships", true},
		{"aws", RHEL, "cloud-init enabled", true},
		{"azure", RHEL, "cloud-init enabled", false},
		{"openstack", RHEL, "qemu-guest-agent and acpid installed", true},
		{"virtualbox", RHEL, "no compilers or kernel headers left from the guest additions", true},
		{"vmware", RHEL, "no compilers or kernel headers left from the guest additions", false},
		{"vmware", RHEL, "vmtoolsd enabled", true},
		{"azure", RHEL, "no swap on the OS disk", true},
		{"docker", Debian, "no kernel, modules, firmware, bootloader or initramfs", true},
		{"docker", RHEL, "no kernel, modules, firmware, bootloader or initramfs", true},
		{"gcp", RHEL, "no kernel, modules, firmware, bootloader or initramfs", false},
		{"docker", RHEL, "every kernel has an initramfs", false},
		{"virtualbox", RHEL, "every kernel has an initramfs", true},
		{"docker", Debian, "root locked", true},
		{"gcp", Debian, "root locked", true},
		{"virtualbox", RHEL, "root locked", true},
		{"vmware", Debian, "root locked", false},
		{"vmware", Debian, "no SSH host keys", true},
		{"gcp", "", "sshd: PasswordAuthentication no", true},
		{"gcp", "", "GCP sysctls", false},
		{"openstack", RHEL, "no vagrant user", true},
		{"vmware", RHEL, "no known key in any authorized_keys", true},
		{"docker", Debian, "no passwordless sudo", true},
		{"aws", "", "no vagrant user", true},
		{"virtualbox", RHEL, "no vagrant user", false},
		{"virtualbox", RHEL, "no passwordless sudo", false},
	} {
		got := slices.Contains(names(Select(Table, tc.provider, tc.family)), tc.rule)
		if got != tc.selected {
			t.Errorf("%s/%s: rule %q selected %v, want %v", tc.provider, tc.family, tc.rule, got, tc.selected)
		}
	}
}

func TestEveryRuleHasANameTheArgumentsOfItsKindAndKnownProviders(t *testing.T) {
	nargs := map[Kind][2]int{ // min, max; -1 is any
		FileExists: {1, 1}, FileHas: {2, 2}, FileLacks: {2, 2}, NoFiles: {1, 1}, RootLocked: {0, 0},
		NoBuildKey: {0, 0}, SSHD: {2, 2}, UnitEnabled: {1, 1}, Installed: {1, -1}, NotInstalled: {1, -1},
		KernelArgs: {1, -1}, NoKernelArgs: {1, -1}, InitramfsModules: {0, -1}, InitramfsModulesShipped: {1, -1},
		NotInRootfs: {1, -1}, NoKnownKey: {0, 0}, NoPasswordlessSudo: {0, 0},
	}
	known := providers.Names(providers.All)
	seen := map[string]bool{}
	for _, r := range Table {
		if r.Name == "" || seen[r.Name] {
			t.Errorf("rule %q: empty or repeated name", r.Name)
		}
		seen[r.Name] = true
		n, ok := nargs[r.Kind]
		if !ok || len(r.Args) < n[0] || n[1] >= 0 && len(r.Args) > n[1] {
			t.Errorf("rule %q: kind %s with %d argument(s)", r.Name, r.Kind, len(r.Args))
		}
		if r.Where != nil && r.Providers != nil {
			t.Errorf("rule %q: both Providers and Where; pick its providers by name or by their row", r.Name)
		}
		for _, p := range r.Providers {
			if !slices.Contains(known, p) {
				t.Errorf("rule %q: unknown provider %q", r.Name, p)
			}
		}
		for _, f := range r.Families {
			if f != RHEL && f != Debian {
				t.Errorf("rule %q: unknown family %q", r.Name, f)
			}
		}
	}
}

func TestDockerRulesAreOnesARootfsTarballCanAnswer(t *testing.T) {
	for _, family := range []string{RHEL, Debian, ""} {
		for _, r := range Select(Table, "docker", family) {
			if !r.Kind.inTarball() {
				t.Errorf("docker (%s): rule %q of kind %s needs a disk", family, r.Name, r.Kind)
			}
		}
	}
}

func TestTheFamilyFollowsTheDistributionLibguestfsNames(t *testing.T) {
	for distro, want := range map[string]string{
		"centos": RHEL, "rhel": RHEL, "rocky": RHEL, "almalinux": RHEL, "oraclelinux": RHEL,
		"debian": Debian, "ubuntu": Debian, "archlinux": "", "unknown": "", "": "",
	} {
		if got := Family(distro); got != want {
			t.Errorf("Family(%q) = %q, want %q", distro, got, want)
		}
	}
}

func TestEveryProviderHasAnArtifactToOpen(t *testing.T) {
	for _, p := range providers.All {
		if _, err := SourceOf(p.Name, t.TempDir(), "x"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
}

func TestEachProviderIsInspectedInTheArtifactItsPlatformTakes(t *testing.T) {
	want := map[string]Source{
		"aws": {"x.ova", OVA}, "virtualbox": {"x.ova", OVA}, "vmware": {"x.ova", OVA},
		"azure": {"x.vhd", "vpc"}, "openstack": {"x.qcow2", "qcow2"},
		"gcp": {"x.tar.gz", GCPTarball}, "docker": {"x.tar.gz", Rootfs},
	}
	for _, p := range providers.All {
		got, _ := SourceOf(p.Name, "", "x")
		if got != want[p.Name] {
			t.Errorf("%s: inspects %+v, want %+v", p.Name, got, want[p.Name])
		}
	}
	if _, err := SourceOf("nobody", "", "x"); err == nil || !strings.Contains(err.Error(), `"nobody"`) {
		t.Errorf("an unknown provider: error %v, want one naming it", err)
	}
}
