// Package providers is the table of image providers: which Packer builder
// makes each one, in which build group, and how ONLY/EXCEPT select them.
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

// Provider is one target platform of the images.
type Provider struct {
	Name    string  // folder and build name, e.g. "aws"
	Builder Builder // Packer builder that makes its disk
	Group   int     // build group: 1 runs (VirtualBox) before 2 (QEMU, VMware)
}

// All lists every provider, in build order.
var All = []Provider{
	{Name: "aws", Builder: VirtualBox, Group: 1},
	{Name: "virtualbox", Builder: VirtualBox, Group: 1},
	{Name: "azure", Builder: QEMU, Group: 2},
	{Name: "docker", Builder: QEMU, Group: 2},
	{Name: "gcp", Builder: QEMU, Group: 2},
	{Name: "openstack", Builder: QEMU, Group: 2},
	{Name: "vmware", Builder: VMware, Group: 2},
}

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
