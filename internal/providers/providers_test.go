package providers

import (
	"slices"
	"strings"
	"testing"
)

func TestSelectHonoursOnlyAndExcept(t *testing.T) {
	cases := []struct {
		only, except string
		want         string
		wantErr      string
	}{
		{"", "", strings.Join(Names(All), ","), ""},
		{"gcp,aws", "", "aws,gcp", ""},
		{" GCP , aws ", "", "aws,gcp", ""},
		{"", "virtualbox,vmware", allBut("virtualbox", "vmware"), ""},
		{"aws,gcp", "gcp", "aws", ""},
		{"aws", "aws", "", `ONLY="aws" and EXCEPT="aws" leave no provider`},
		{"aws,digitalocean", "", "", `ONLY names unknown provider(s) "digitalocean"; known: aws, virtualbox`},
		{"", "vbox", "", `EXCEPT names unknown provider(s) "vbox"`},
		{",", "", "", `ONLY="," names no provider; known: aws,`},
		{"", " , ", "", `EXCEPT=" , " names no provider`},
	}
	for _, tc := range cases {
		got, err := Select(tc.only, tc.except)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Select(%q, %q) err = %v, want %q", tc.only, tc.except, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Select(%q, %q): %v", tc.only, tc.except, err)
			continue
		}
		if names := strings.Join(Names(got), ","); names != tc.want {
			t.Errorf("Select(%q, %q) = %s, want %s", tc.only, tc.except, names, tc.want)
		}
	}
}

// allBut is the names of All but names, in build order, comma-separated.
func allBut(names ...string) string {
	var out []string
	for _, n := range Names(All) {
		if !slices.Contains(names, n) {
			out = append(out, n)
		}
	}
	return strings.Join(out, ",")
}

func TestGroupsPutVirtualBoxBeforeQEMUAndVMware(t *testing.T) {
	groups := Groups(All)
	if len(groups) != 2 {
		t.Fatalf("got %d groups, want 2", len(groups))
	}
	for _, p := range groups[0] {
		if p.Builder != VirtualBox {
			t.Errorf("group 1 holds %s (%s)", p.Name, p.Builder)
		}
	}
	for _, p := range groups[1] {
		if p.Builder == VirtualBox {
			t.Errorf("group 2 holds VirtualBox build %s", p.Name)
		}
	}
	only, _ := Select("gcp", "")
	if g := Groups(only); len(g) != 1 || g[0][0].Name != "gcp" {
		t.Errorf("Groups(gcp) = %v", g)
	}
}

func TestPackerSourceNamesTheTemplateSource(t *testing.T) {
	p, _ := Lookup("aws")
	if got := p.PackerSource(); got != "virtualbox-iso.aws" {
		t.Errorf("PackerSource = %q", got)
	}
}
