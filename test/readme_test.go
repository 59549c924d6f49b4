package test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gold-standard-images/internal/golden"
)

// target is one row of `mage -l`: a target and the first sentence of its doc.
type target struct{ name, doc string }

// listTargets runs `mage -l` and returns its targets in its order.
func listTargets(t *testing.T) []target {
	t.Helper()
	out, stderr, err := mage(t, repoRoot(t), nil, "-l")
	if err != nil {
		t.Fatalf("mage -l: %v\n%s", err, stderr)
	}
	var targets []target
	for _, line := range strings.Split(out, "\n") {
		if m := targetLine.FindStringSubmatch(line); m != nil {
			targets = append(targets, target{strings.TrimSuffix(m[1], "*"), strings.TrimSpace(m[2])})
		}
	}
	if len(targets) == 0 {
		t.Fatalf("mage -l lists no targets:\n%s", out)
	}
	return targets
}

// targetsTable is the README's targets table: one row per target of
// `mage -l`, with the same first sentence.
func targetsTable(targets []target) string {
	var b strings.Builder
	b.WriteString("| Target | What it does |\n|---|---|\n")
	for _, tg := range targets {
		fmt.Fprintf(&b, "| `%s` | %s |\n", tg.name, strings.ReplaceAll(tg.doc, "|", `\|`))
	}
	return b.String()
}

func TestTheREADMEsTargetsTableIsWhatMageListsWordForWord(t *testing.T) {
	golden.CheckSection(t, filepath.Join(repoRoot(t), "README.md"), "<!-- targets:start -->", "<!-- targets:end -->", []byte(targetsTable(listTargets(t))))
}

// TestEveryTargetTheDocumentsNameExists holds the prose (README's "Coming
// from the original scripts" table and walk-throughs, the guides) to the
// targets there are: a word <namespace>:<name> of one of mage's namespaces
// must be a target of `mage -l`.
func TestEveryTargetTheDocumentsNameExists(t *testing.T) {
	listed := map[string]bool{}
	var namespaces []string
	for _, tg := range listTargets(t) {
		listed[tg.name] = true
		if ns, _, ok := strings.Cut(tg.name, ":"); ok && !slices.Contains(namespaces, ns) {
			namespaces = append(namespaces, ns)
		}
	}
	named := regexp.MustCompile(`\b(?:` + strings.Join(namespaces, "|") + `):[a-z][a-z0-9]*\b`)
	docs, err := filepath.Glob(filepath.Join(repoRoot(t), "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range append([]string{filepath.Join(repoRoot(t), "README.md"), filepath.Join(repoRoot(t), "CONTRIBUTING.md")}, docs...) {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot(t), doc)
		for i, line := range strings.Split(string(data), "\n") {
			for _, name := range named.FindAllString(line, -1) {
				if !listed[name] {
					t.Errorf("%s:%d names %s, which mage -l does not list", rel, i+1, name)
				}
			}
		}
	}
}
