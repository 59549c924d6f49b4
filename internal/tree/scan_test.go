package tree

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestCompareVersionsOrdersAsVagrantDoes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want []string
	}{
		{
			"numerically, not as strings",
			[]string{"1.10.0", "1.9.0", "1.0.0", "2", "1.9", "1.9.10", "1.9.2", "10.0.0", "1.01"},
			[]string{"1.0.0", "1.01", "1.9", "1.9.0", "1.9.2", "1.9.10", "1.10.0", "2", "10.0.0"},
		},
		{
			// Ruby's `vs.sort_by { |v| Gem::Version.new(v) }` (which Vagrant
			// uses), with the two it holds equal (rc.1, rc1) in string order.
			"pre-releases before their release",
			[]string{"1.0.1-alpha", "1.0.0", "1.0.0-rc10", "1.0.0-rc2", "1.0.0-beta", "0.9", "1.0.0-rc1", "1.0.0-rc.1", "1.0.0-beta-2"},
			[]string{"0.9", "1.0.0-beta-2", "1.0.0-beta", "1.0.0-rc.1", "1.0.0-rc1", "1.0.0-rc2", "1.0.0-rc10", "1.0.0", "1.0.1-alpha"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sort.Slice(tc.got, func(i, j int) bool { return CompareVersions(tc.got[i], tc.got[j]) < 0 })
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("sorted = %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestIsVersionTakesReleasesAndPreReleasesOnly(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    bool
	}{
		{"1", true}, {"1.0.0", true}, {"1.0.0-rc1", true}, {"1.0.0-rc.1", true}, {"2.1-beta-2", true}, {"1.0.0-1", true},
		// Vagrant's catalog refuses these (`vagrant box add`: "Vagrant cannot parse").
		{"1.0+b", false}, {"1.0.0+build.5", false}, {"1.0-alpha_1", false}, {"v1.0", false},
		// Neither a release nor a pre-release.
		{"", false}, {"1.", false}, {".1", false}, {"1..0", false}, {"1.0-", false}, {"1.0-rc..1", false}, {"1.0a", false}, {"latest", false}, {"../x", false},
	} {
		if got := IsVersion(tc.version); got != tc.want {
			t.Errorf("IsVersion(%q) = %v, want %v", tc.version, got, tc.want)
		}
	}
}

func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScanListsProviderFoldersInVersionOrder(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	mkdirs(t, root, "1.10.0/vm/gcp", "1.9.0/vm/virtualbox", "1.9.0/vm/gcp", "1.9.0/other/aws", ".staging/x/y", "1.10.0-rc1/vm/gcp", "1.9.0/vm/.convert-vm-1.9.0_gcp.tar.gz-42-1/x")
	if err := os.WriteFile(filepath.Join(root, "vm.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Folder{
		{"1.9.0", "other", "aws", filepath.Join(root, "1.9.0/other/aws")},
		{"1.9.0", "vm", "gcp", filepath.Join(root, "1.9.0/vm/gcp")},
		{"1.9.0", "vm", "virtualbox", filepath.Join(root, "1.9.0/vm/virtualbox")},
		{"1.10.0-rc1", "vm", "gcp", filepath.Join(root, "1.10.0-rc1/vm/gcp")},
		{"1.10.0", "vm", "gcp", filepath.Join(root, "1.10.0/vm/gcp")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Scan = %+v\nwant %+v", got, want)
	}
}

func TestScanNamesEveryBadPath(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	mkdirs(t, root, "1.0.0/vm/gcp", "latest/vm/gcp", "1.0.0/vm/floppy")
	if err := os.WriteFile(filepath.Join(root, "1.0.0/vm/stray.ova"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Scan(root)
	if err == nil {
		t.Fatal("Scan accepted a bad tree")
	}
	for _, want := range []string{
		filepath.Join(root, "latest") + `": want a version folder such as 1.0.0`,
		filepath.Join(root, "1.0.0/vm/floppy") + `": want a provider folder (aws, virtualbox,`,
		filepath.Join(root, "1.0.0/vm/stray.ova") + `": want a provider folder, found a file`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}

func TestScanOfMissingRootIsEmpty(t *testing.T) {
	got, err := Scan(filepath.Join(t.TempDir(), "artifacts"))
	if err != nil || len(got) != 0 {
		t.Errorf("Scan = %v, %v; want nothing", got, err)
	}
}

func TestScanRefusesFolderNamesOutsideTheGrammarAndLinks(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	mkdirs(t, root, "1.0.0/evil\nname/gcp", "1.0.0/vm name/gcp", "1.0.0/-vm/gcp", "1.0.0/vm/gcp")
	outside := t.TempDir()
	mkdirs(t, outside, "1.0.0/vm/gcp", "aws")
	for link, target := range map[string]string{"2.0.0": "1.0.0", "1.0.0/linked": filepath.Join(outside, "1.0.0/vm"), "1.0.0/vm/aws": filepath.Join(outside, "aws")} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Scan(root)
	t.Logf("error: %v", err)
	if err == nil {
		t.Fatal("Scan accepted a bad tree")
	}
	for _, want := range []string{
		`"evil\nname"`, `"vm name"`, `"-vm"`,
		filepath.Join(root, "2.0.0"), filepath.Join(root, "1.0.0/linked"), filepath.Join(root, "1.0.0/vm/aws"),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q", want)
		}
	}
}
