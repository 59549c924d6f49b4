// Package releasediff tells what changed between two releases of an image:
// the packages added, removed and changed and the kernel, from the SBOMs,
// and the inputs that differ (ISO, kickstart, templates, playbooks,
// scripts, commit), from the build records, per provider folder both
// releases have. It reads only the artifacts tree.
package releasediff

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"gold-standard-images/internal/buildrecord"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/sbom"
	"gold-standard-images/internal/tree"
)

// Change is a package whose version differs.
type Change struct {
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Input is a build input that differs.
type Input struct {
	Name string `json:"name"` // iso, kickstart, templates, playbooks, scripts, commit, packer, ansible-core
	From string `json:"from"`
	To   string `json:"to"`
}

// Provider is the difference of one provider folder.
type Provider struct {
	Provider string         `json:"provider"`
	Added    []sbom.Package `json:"added"`
	Removed  []sbom.Package `json:"removed"`
	Changed  []Change       `json:"changed"`
	Kernel   *Change        `json:"kernel,omitempty"` // nil when the kernels are the same
	Inputs   []Input        `json:"inputs"`
}

// Diff is the difference between two releases of a vm_name.
type Diff struct {
	VMName    string     `json:"vm_name"`
	From      string     `json:"from"`
	To        string     `json:"to"`
	Providers []Provider `json:"providers"`
}

// Compare reads the SBOMs and build records of vmName's releases from and
// to under artifactsDir and compares each provider folder both have.
func Compare(artifactsDir, vmName, from, to string) (Diff, error) {
	d := Diff{VMName: vmName, From: from, To: to, Providers: []Provider{}}
	var problems []error
	for _, v := range []string{from, to} {
		if !tree.IsVersion(v) {
			problems = append(problems, fmt.Errorf("version %q: want a version %s", v, tree.VersionGrammar))
		}
	}
	if len(problems) > 0 {
		return d, fmt.Errorf("comparing %s releases: %w", vmName, errors.Join(problems...))
	}
	dirOf := func(v, p string) string { return filepath.Join(artifactsDir, v, vmName, p) }
	for _, p := range providers.All {
		a, b := dirOf(from, p.Name), dirOf(to, p.Name)
		if !isDir(a) || !isDir(b) {
			continue
		}
		pd, err := compareFolder(p.Name, a, b)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		d.Providers = append(d.Providers, pd)
	}
	if len(problems) > 0 {
		return d, fmt.Errorf("comparing %s %s with %s: %w", vmName, from, to, errors.Join(problems...))
	}
	if len(d.Providers) == 0 {
		return d, fmt.Errorf("comparing %s %s with %s: no provider folder is in both %s and %s", vmName, from, to,
			filepath.Join(artifactsDir, from, vmName), filepath.Join(artifactsDir, to, vmName))
	}
	return d, nil
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

// compareFolder compares one provider's folders of the two releases.
func compareFolder(provider, a, b string) (Provider, error) {
	pd := Provider{Provider: provider}
	var problems []error
	invA, errA := sbom.ReadFile(filepath.Join(a, sbom.FileName))
	invB, errB := sbom.ReadFile(filepath.Join(b, sbom.FileName))
	recA, errRA := buildrecord.Read(filepath.Join(a, buildrecord.FileName))
	recB, errRB := buildrecord.Read(filepath.Join(b, buildrecord.FileName))
	for _, err := range []error{errA, errB, errRA, errRB} {
		if err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return pd, errors.Join(problems...)
	}
	pd.Added, pd.Removed, pd.Changed = Packages(invA.Packages, invB.Packages)
	if ka, kb := strings.Join(invA.Kernels, " "), strings.Join(invB.Kernels, " "); ka != kb {
		pd.Kernel = &Change{Name: "linux", From: ka, To: kb}
	}
	pd.Inputs = Inputs(recA, recB)
	return pd, nil
}

// key tells packages apart: the name, and the architecture where a
// package is installed for more than one.
func key(p sbom.Package) string { return p.Name + "\x00" + p.Arch }

// Packages compares two package lists: those only in b (added), only in a
// (removed), and in both with other versions (changed), each by name. A
// package whose architecture alone changed counts as changed.
func Packages(a, b []sbom.Package) (added, removed []sbom.Package, changed []Change) {
	byName := func(ps []sbom.Package) map[string][]sbom.Package {
		m := map[string][]sbom.Package{}
		for _, p := range ps {
			m[p.Name] = append(m[p.Name], p)
		}
		return m
	}
	ma, mb := byName(a), byName(b)
	added, removed, changed = []sbom.Package{}, []sbom.Package{}, []Change{}
	for name, pa := range ma {
		pb, ok := mb[name]
		if !ok {
			removed = append(removed, pa...)
			continue
		}
		if va, vb := versions(pa), versions(pb); va != vb {
			changed = append(changed, Change{Name: name, From: va, To: vb})
		}
	}
	for name, pb := range mb {
		if _, ok := ma[name]; !ok {
			added = append(added, pb...)
		}
	}
	sort.Slice(added, func(i, j int) bool { return key(added[i]) < key(added[j]) })
	sort.Slice(removed, func(i, j int) bool { return key(removed[i]) < key(removed[j]) })
	sort.Slice(changed, func(i, j int) bool { return changed[i].Name < changed[j].Name })
	return added, removed, changed
}

// versions is the versions of the packages of one name, with their
// architectures where there is more than one.
func versions(ps []sbom.Package) string {
	if len(ps) == 1 {
		return ps[0].Version
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Version+" ("+p.Arch+")")
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Inputs lists the build inputs that differ between two records.
func Inputs(a, b buildrecord.Record) []Input {
	out := []Input{}
	add := func(name, x, y string) {
		if x != y {
			out = append(out, Input{Name: name, From: x, To: y})
		}
	}
	add("iso", a.ISO.Name+" "+a.ISO.SHA256, b.ISO.Name+" "+b.ISO.SHA256)
	add("kickstart", a.Kickstart.SHA256, b.Kickstart.SHA256)
	add("os definition", string(a.OS), string(b.OS))
	add("site settings", string(a.Site), string(b.Site))
	add("packer", a.Packer.Version, b.Packer.Version)
	add("templates", a.Packer.TemplatesSHA256, b.Packer.TemplatesSHA256)
	add("var-file contract", a.Packer.VarFileContractSHA256, b.Packer.VarFileContractSHA256)
	add("ansible-core", a.Ansible.CoreVersion, b.Ansible.CoreVersion)
	add("playbooks", a.Ansible.PlaybooksSHA256, b.Ansible.PlaybooksSHA256)
	add("scripts", a.Ansible.ScriptsSHA256, b.Ansible.ScriptsSHA256)
	add("commit", a.Source.Commit+dirty(a.Source), b.Source.Commit+dirty(b.Source))
	return out
}

func dirty(s buildrecord.Source) string {
	if s.Dirty == "yes" {
		return " (dirty)"
	}
	return ""
}

// Print compares the releases (Compare) and writes the difference to w as
// DIFF_FORMAT (read through getenv) says: a table (default) or JSON.
func Print(w io.Writer, artifactsDir, vmName, from, to string, getenv func(string) string) error {
	format, err := envvar.DiffFormat.Get(getenv)
	if err != nil {
		return err
	}
	d, err := Compare(artifactsDir, vmName, from, to)
	if err != nil {
		return err
	}
	if format == "json" {
		return d.WriteJSON(w)
	}
	return d.WriteTable(w)
}

// WriteJSON writes d as indented JSON.
func (d Diff) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// WriteTable writes d as a table per provider: one line per package added,
// removed or changed, the kernel, then the inputs that differ.
func (d Diff) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, p := range d.Providers {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s %s -> %s, %s: %d added, %d removed, %d changed\n", d.VMName, d.From, d.To, p.Provider, len(p.Added), len(p.Removed), len(p.Changed))
		fmt.Fprintln(tw, "CHANGE\tNAME\tFROM\tTO")
		for _, a := range p.Added {
			fmt.Fprintf(tw, "added\t%s\t-\t%s\n", a.Name, a.Version)
		}
		for _, r := range p.Removed {
			fmt.Fprintf(tw, "removed\t%s\t%s\t-\n", r.Name, r.Version)
		}
		for _, c := range p.Changed {
			fmt.Fprintf(tw, "changed\t%s\t%s\t%s\n", c.Name, c.From, c.To)
		}
		if p.Kernel != nil {
			fmt.Fprintf(tw, "kernel\t%s\t%s\t%s\n", p.Kernel.Name, orDash(p.Kernel.From), orDash(p.Kernel.To))
		}
		for _, in := range p.Inputs {
			fmt.Fprintf(tw, "input\t%s\t%s\t%s\n", in.Name, orDash(short(in.From)), orDash(short(in.To)))
		}
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// short cuts a long value (settings JSON) for the table; the JSON form
// has it whole.
func short(s string) string {
	if len(s) > 72 {
		return s[:69] + "..."
	}
	return s
}
