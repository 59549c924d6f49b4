package devcheck

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestLongPackagesComeFirstAndTheOthersKeepTheirOrder(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in, want []string
	}{
		{"./...'s order, e2e last",
			[]string{"m/ansible", "m/internal/boxcheck", "m/internal/catalog", "m/internal/validate", "m/test/e2e"},
			[]string{"m/test/e2e", "m/internal/boxcheck", "m/internal/validate", "m/ansible", "m/internal/catalog"}},
		{"no long package", []string{"m/b", "m/a"}, []string{"m/b", "m/a"}},
		{"a path that only ends like a long one's name", []string{"m/x/e2e", "m/test/e2e"}, []string{"m/test/e2e", "m/x/e2e"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := longestFirst(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("longestFirst(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestEveryLongPackageIsAPackageOfTheModule keeps longFirst from naming a
// package that was moved or renamed (it would silently run last again).
func TestEveryLongPackageIsAPackageOfTheModule(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	pkgs, err := allPackages(context.Background(), "../..")
	if err != nil {
		t.Fatal(err)
	}
	for i, rel := range longFirst {
		if i >= len(pkgs) || !strings.HasSuffix(pkgs[i], "/"+rel) {
			t.Errorf("longFirst[%d] = %q is not a package of the module in that place (go list ./... ordered: %q)", i, rel, pkgs[:min(len(pkgs), len(longFirst))])
		}
	}
}
