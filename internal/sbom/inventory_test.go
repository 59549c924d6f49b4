package sbom

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestGuestfishApplicationListsAreReadBackIntoPackageManagerVersions(t *testing.T) {
	debian, err := os.ReadFile("testdata/applications.txt")
	if err != nil {
		t.Fatal(err)
	}
	rpm := strings.Join([]string{
		"[0] = {",
		"  app2_name: kernel",
		"  app2_epoch: 0",
		"  app2_version: 3.10.0",
		"  app2_release: 1160.el7",
		"  app2_arch: x86_64",
		"  app2_description: a line that is only a brace follows",
		"}",
		"and an indented field-like line that is not one:",
		"   app2_name: not-a-package",
		"}",
		"[1] = {",
		"  app2_name: bind-libs",
		"  app2_epoch: 32",
		"  app2_version: 9.11.4",
		"  app2_release: 26.P2.el7",
		"  app2_arch: x86_64",
		"}",
	}, "\n")
	for _, tc := range []struct {
		name  string
		input string
		want  []Package
	}{
		{"debian, from the fixture image (multi-line descriptions)", string(debian), []Package{
			{Name: "adduser", Version: "3.134", Arch: "all"},
			{Name: "apt", Version: "2.6.2", Arch: "amd64"},
			{Name: "base-files", Version: "12.4+deb12u15", Arch: "amd64"},
		}},
		{"rpm, with epoch and release", rpm, []Package{
			{Name: "bind-libs", Version: "32:9.11.4-26.P2.el7", Arch: "x86_64"},
			{Name: "kernel", Version: "3.10.0-1160.el7", Arch: "x86_64"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseApplications(strings.Split(tc.input, "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestAnEntryWithoutANameIsAnError(t *testing.T) {
	_, err := parseApplications([]string{"[0] = {", "  app2_version: 1", "}"})
	if err == nil || !strings.Contains(err.Error(), "app2_name") {
		t.Errorf("got %v, want an error naming app2_name", err)
	}
}

func TestGuestfishOutputIsSplitAtTheMarkerLines(t *testing.T) {
	var b markedBuffer
	b.mark = make(chan struct{}, 4)
	b.Write([]byte("/dev/sda1\n" + marker + "\ndebian\n12.15\ndeb\n" + marker[:5]))
	b.Write([]byte(marker[5:] + "\n"))
	if n := len(b.mark); n != 2 {
		t.Errorf("%d marks signalled, want 2 (one split across writes)", n)
	}
	got := b.sections()
	want := [][]string{{"/dev/sda1"}, {"debian", "12.15", "deb"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sections %q, want %q", got, want)
	}
}
