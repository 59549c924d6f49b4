package releasediff

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/buildrecord"
	"gold-standard-images/internal/golden"
	"gold-standard-images/internal/sbom"
)

// release writes one provider folder of a release: its SBOM and record.
func release(t *testing.T, root, version string, inv sbom.Inventory, rec buildrecord.Record) {
	t.Helper()
	dir := filepath.Join(root, version, "CentOS-7.9.2009", "gcp")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := sbom.WriteFile(filepath.Join(dir, sbom.FileName), sbom.Document(sbom.Subject{VMName: "CentOS-7.9.2009", Version: version, Provider: "gcp"}, inv, time.Unix(0, 0))); err != nil {
		t.Fatal(err)
	}
	data, err := buildrecord.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, buildrecord.FileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func twoReleases(t *testing.T) string {
	root := t.TempDir()
	a := sbom.Inventory{Distro: "centos", Format: "rpm", Kernels: []string{"3.10.0-1160.el7.x86_64"}, Packages: []sbom.Package{
		{Name: "bash", Version: "4.2.46-34.el7", Arch: "x86_64"},
		{Name: "openssl-libs", Version: "1:1.0.2k-19.el7", Arch: "x86_64"},
		{Name: "telnet", Version: "1:0.17-66.el7", Arch: "x86_64"},
	}}
	b := sbom.Inventory{Distro: "centos", Format: "rpm", Kernels: []string{"3.10.0-1160.119.1.el7.x86_64"}, Packages: []sbom.Package{
		{Name: "bash", Version: "4.2.46-34.el7", Arch: "x86_64"},
		{Name: "chrony", Version: "3.4-1.el7", Arch: "x86_64"},
		{Name: "openssl-libs", Version: "1:1.0.2k-26.el7_9", Arch: "x86_64"},
	}}
	recA := buildrecord.Record{Schema: 1, ISO: buildrecord.ISO{Name: "CentOS-7-x86_64-Minimal-2009.iso", SHA256: "07b9"},
		Kickstart: buildrecord.Kickstart{SHA256: "aaaa"}, Source: buildrecord.Source{Commit: "1111", Dirty: "no"},
		Ansible: buildrecord.Ansible{PlaybooksSHA256: "p1"}, Packer: buildrecord.Packer{Version: "1.9.4", TemplatesSHA256: "t1"}}
	recB := recA
	recB.Kickstart.SHA256 = "bbbb"
	recB.Source = buildrecord.Source{Commit: "2222", Dirty: "yes"}
	recB.Ansible.PlaybooksSHA256 = "p2"
	recB.Started = time.Unix(100, 0) // times are not inputs
	release(t, root, "1.0.0", a, recA)
	release(t, root, "1.1.0", b, recB)
	return root
}

func TestTheDifferenceOfTwoReleasesNamesPackagesKernelAndInputsAsATable(t *testing.T) {
	var out bytes.Buffer
	if err := Print(&out, twoReleases(t), "CentOS-7.9.2009", "1.0.0", "1.1.0", func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, out.Bytes())
}

func TestTheDifferenceIsJSONWithDiffFormatJSON(t *testing.T) {
	var out bytes.Buffer
	getenv := func(k string) string { return map[string]string{"DIFF_FORMAT": "json"}[k] }
	if err := Print(&out, twoReleases(t), "CentOS-7.9.2009", "1.0.0", "1.1.0", getenv); err != nil {
		t.Fatal(err)
	}
	var d Diff
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	p := d.Providers[0]
	if len(p.Added) != 1 || p.Added[0].Name != "chrony" || len(p.Removed) != 1 || p.Removed[0].Name != "telnet" ||
		len(p.Changed) != 1 || p.Changed[0] != (Change{Name: "openssl-libs", From: "1:1.0.2k-19.el7", To: "1:1.0.2k-26.el7_9"}) || p.Kernel == nil {
		t.Errorf("got %+v", p)
	}
	var names []string
	for _, in := range p.Inputs {
		names = append(names, in.Name)
	}
	if got := strings.Join(names, ","); got != "kickstart,playbooks,commit" {
		t.Errorf("inputs that differ: %s, want kickstart,playbooks,commit", got)
	}
}

func TestAReleaseComparedWithItselfHasNoDifference(t *testing.T) {
	d, err := Compare(twoReleases(t), "CentOS-7.9.2009", "1.1.0", "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	p := d.Providers[0]
	if len(p.Added)+len(p.Removed)+len(p.Changed)+len(p.Inputs) != 0 || p.Kernel != nil {
		t.Errorf("got %+v", p)
	}
}

func TestMissingReleasesAndBadArgumentsAreNamed(t *testing.T) {
	root := twoReleases(t)
	for _, tc := range []struct {
		name, from, to, getenvFormat string
		want                         []string
	}{
		{"a release without folders", "1.0.0", "2.0.0", "", []string{"no provider folder", "2.0.0"}},
		{"versions that are not versions", "1.0", "../x", "", []string{`"../x"`}},
		{"an unknown format", "1.0.0", "1.1.0", "yaml", []string{"DIFF_FORMAT", "yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return map[string]string{"DIFF_FORMAT": tc.getenvFormat}[k] }
			err := Print(&bytes.Buffer{}, root, "CentOS-7.9.2009", tc.from, tc.to, getenv)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not name %s: %v", w, err)
				}
			}
		})
	}
}
