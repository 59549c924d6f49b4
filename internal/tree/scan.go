package tree

import (
	"errors"
	"fmt"
	"io/fs"
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

// versionRe is the one grammar of a version, for VERSION, the site's
// "version" and the version folders: release numbers, digits and dots
// (1.0.0), then optionally "-" and a pre-release label of letters and
// digits in parts joined by "." or "-" (1.0.0-rc1, 2.1-beta.2). It is the
// part of RubyGems' version grammar, which Vagrant's catalog takes, that is
// also a container image tag and a plain file name: `vagrant box add`
// refuses "+" (1.0+b) and "_", which are left out.
var versionRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*(-[0-9A-Za-z]+([.-][0-9A-Za-z]+)*)?$`)

// VersionGrammar describes a version for error messages: "want a version "
// + VersionGrammar + ", got ...".
const VersionGrammar = "such as 1.0.0 or 1.0.0-rc1 (digits and dots, optionally - and a pre-release label of letters, digits, . and -)"

// IsVersion reports whether s is a version (see versionRe): 1.0.0,
// 1.0.0-rc1.
func IsVersion(s string) bool { return versionRe.MatchString(s) }

// vmNameRe is the one grammar of a vm_name, for OS definitions (config)
// and the vm_name folders: letters, digits and . _ -, starting with a
// letter or digit (no line break, space or slash can reach a file name,
// a catalog or a log line).
var vmNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// VMNameGrammar describes a vm_name for error messages.
const VMNameGrammar = "letters, digits and . _ - only, starting with a letter or digit"

// IsVMName reports whether s is a vm_name (see vmNameRe).
func IsVMName(s string) bool { return vmNameRe.MatchString(s) }

// Irregular says what a file of mode m is when it is not a regular file
// or a folder ("a symbolic link", "a named pipe"...), and "" when it is
// one: the artifacts tree holds only those, since a link could lead
// anywhere outside it and a special file is no artifact.
func Irregular(m fs.FileMode) string {
	switch t := m.Type(); {
	case t == 0, t == fs.ModeDir:
		return ""
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeDevice != 0:
		return "a device"
	default:
		return "a special file (" + t.String() + ")"
	}
}

// NotRegular is what a file of mode m is when it is not a regular file
// (Irregular, or "a folder"), and "" when it is one.
func NotRegular(m fs.FileMode) string {
	if m.IsDir() {
		return "a folder"
	}
	return Irregular(m)
}

// CompareVersions orders two versions as Vagrant does (RubyGems): part by
// part, numbers numerically and labels as strings, missing parts count as
// 0 and a label sorts before a number, so that 1.0.0-rc2 < 1.0.0-rc10 <
// 1.0.0 < 1.0.1. Equal versions are then ordered as strings so that the
// order is total.
func CompareVersions(a, b string) int {
	pa, pb := segments(a), segments(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := segment(pa, i), segment(pb, i)
		xNum, yNum := isDigits(x), isDigits(y)
		var c int
		switch {
		case xNum && yNum:
			c = compareDigits(x, y)
		case xNum:
			c = 1 // a label (pre-release) sorts before a number
		case yNum:
			c = -1
		default:
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

// segments splits a version as RubyGems does: each "-" reads as ".pre.",
// every run of digits or of other characters between the dots is a part,
// and zeros that end the release numbers are dropped: 1.0.0-rc1 is 1 pre
// rc 1.
func segments(v string) []string {
	var out []string
	for _, field := range strings.Split(strings.ReplaceAll(v, "-", ".pre."), ".") {
		start := 0
		for i := 1; i <= len(field); i++ {
			if i == len(field) || isDigit(field[i]) != isDigit(field[i-1]) {
				out = append(out, field[start:i])
				start = i
			}
		}
	}
	release := 0
	for release < len(out) && isDigits(out[release]) {
		release++
	}
	end := release
	for end > 1 && strings.Trim(out[end-1], "0") == "" {
		end--
	}
	return append(out[:end], out[release:]...)
}

func segment(ps []string, i int) string {
	if i < len(ps) {
		return ps[i]
	}
	return "0"
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isDigits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
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
// vm_name folder that is not a vm_name, a provider folder that is not a
// known provider, a file where a folder belongs, a link or special file
// anywhere. A missing root gives an empty list.
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
		if Hidden(v.Name()) {
			continue
		}
		if what := Irregular(v.Type()); what != "" {
			problems = append(problems, fmt.Errorf("reading artifacts tree: %q: want a version folder or a catalog, found %s", filepath.Join(root, v.Name()), what))
			continue
		}
		if !v.IsDir() {
			continue
		}
		vdir := filepath.Join(root, v.Name())
		if !IsVersion(v.Name()) {
			problems = append(problems, fmt.Errorf("reading artifacts tree: %q: want a version folder %s, got %q", vdir, VersionGrammar, v.Name()))
			continue
		}
		vms, err := readDirs(vdir, "vm_name", &problems)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		for _, vm := range vms {
			vmdir := filepath.Join(vdir, vm)
			if !IsVMName(vm) {
				problems = append(problems, fmt.Errorf("reading artifacts tree: %q: want a vm_name folder (%s), got %q", vmdir, VMNameGrammar, vm))
				continue
			}
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
		if kind := Irregular(e.Type()); kind != "" {
			*problems = append(*problems, fmt.Errorf("reading artifacts tree: %q: want a %s folder, found %s", filepath.Join(dir, e.Name()), what, kind))
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
