package devcheck

import (
	"context"
	"os"
	"slices"
	"strings"
	"time"

	"gold-standard-images/internal/run"
)

// longFirst are the packages whose tests take minutes (the end-to-end
// build, the Debian build and its boots, Vagrant and QEMU boots, guestfish sessions, packer validate),
// slowest first, as measured on 2 cores under TCG. go test starts the
// packages' test binaries in the order it is given them, as many at once
// as -p (the cores): in the order of ./... the slowest (test/e2e) starts
// last and runs alone at the end; started first, the others run beside it.
var longFirst = []string{
	"test/e2e",
	"internal/boxcheck",
	"test/debian",
	"internal/buildsteps",
	"internal/validate",
	"internal/convert",
	"internal/packer",
	"internal/inspect",
	"internal/sbom",
}

// allPackages lists the module's packages in root (go list ./...), the
// long ones first (longFirst).
func allPackages(ctx context.Context, root string) ([]string, error) {
	out, err := run.Output(ctx, run.Cmd{Name: "go", Args: []string{"list", "./..."}, Dir: root, Output: os.Stderr, Timeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	return longestFirst(strings.Fields(string(out))), nil
}

// longestFirst orders the import paths pkgs: those of longFirst (matched
// by their path below the module) in its order, then the others in theirs.
func longestFirst(pkgs []string) []string {
	rank := func(p string) int {
		for i, rel := range longFirst {
			if strings.HasSuffix(p, "/"+rel) {
				return i
			}
		}
		return len(longFirst)
	}
	out := slices.Clone(pkgs)
	slices.SortStableFunc(out, func(a, b string) int { return rank(a) - rank(b) })
	return out
}
