package tree

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gold-standard-images/internal/providers"
)

// This file reads the artifacts tree, artifacts/<version>/<vm_name>/<provider>/,
// into a typed list of provider folders, and orders versions as versions
// (1.10.0 after 1.9.0).

// Folder is one provider folder of the tree.
type Folder struct {
	Version  string // e.g. "1.0.0"
	VMName   string // e.g. "CentOS-7.9.2009"
	Provider string // e.g. "virtualbox"
	Dir      string // root joined with version/vm_name/provider
}

// Build is the build whose artifacts the folder holds.
func (f Folder) Build() Build { return Build{Version: f.Version, VMName: f.VMName} }

// Hidden reports whether a file name is one the tree ignores: dot files,
// which include the temporary files of internal/atomicfile.
func Hidden(name string) bool { return strings.HasPrefix(name, ".") }

var versionRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)

// IsVersion reports whether s is a version folder name: digits and dots,
// such as 1.0.0.
func IsVersion(s string) bool { return versionRe.MatchString(s) }

// CompareVersions orders two versions numerically part by part (missing
// parts count as 0), then as strings so that the order is total.
func CompareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := part(pa, i), part(pb, i)
		if c := compareDigits(x, y); c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

func part(ps []string, i int) string {
	if i < len(ps) {
		return ps[i]
	}
	return "0"
}

// compareDigits compares two digit strings of any length as numbers.
func compareDigits(x, y string) int {
	x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
	if len(x) != len(y) {
		if len(x) < len(y) {
			return -1
		}
		return 1
	}
	return strings.Compare(x, y)
}

// Scan lists every provider folder below root (usually ArtifactsDir), sorted
// by vm_name, version (as versions) and provider. Files directly in root (the
// catalogs) and hidden entries are skipped. Every problem found is reported
// at once, each naming its path: a version folder that is not a version, a
// provider folder that is not a known provider, a file where a folder
// belongs. A missing root gives an empty list.
func Scan(root string) ([]Folder, error) {
	versions, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading artifacts folder %q: %w", root, err)
	}
	var out []Folder
	var problems []error
	for _, v := range versions {
		if Hidden(v.Name()) || !v.IsDir() {
			continue
		}
		vdir := filepath.Join(root, v.Name())
		if !IsVersion(v.Name()) {
			problems = append(problems, fmt.Errorf("reading artifacts tree: %q: want a version folder such as 1.0.0 (digits and dots), got %q", vdir, v.Name()))
			continue
		}
		vms, err := readDirs(vdir, "vm_name", &problems)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		for _, vm := range vms {
			vmdir := filepath.Join(vdir, vm)
			provs, err := readDirs(vmdir, "provider", &problems)
			if err != nil {
				problems = append(problems, err)
				continue
			}
			for _, p := range provs {
				pdir := filepath.Join(vmdir, p)
				if _, ok := providers.Lookup(p); !ok {
					problems = append(problems, fmt.Errorf("reading artifacts tree: %q: want a provider folder (%s), got %q", pdir, strings.Join(providers.Names(providers.All), ", "), p))
					continue
				}
				out = append(out, Folder{Version: v.Name(), VMName: vm, Provider: p, Dir: pdir})
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.VMName != b.VMName {
			return a.VMName < b.VMName
		}
		if c := CompareVersions(a.Version, b.Version); c != 0 {
			return c < 0
		}
		return a.Provider < b.Provider
	})
	return out, nil
}

// readDirs lists the visible sub-folders of dir; a visible plain file is a
// problem (what names the level, for the message).
func readDirs(dir, what string, problems *[]error) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading artifacts tree %q: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if Hidden(e.Name()) {
			continue
		}
		if !e.IsDir() {
			*problems = append(*problems, fmt.Errorf("reading artifacts tree: %q: want a %s folder, found a file", filepath.Join(dir, e.Name()), what))
			continue
		}
		names = append(names, e.Name())
	}
	return names, nil
}
