package golden

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpdateWritesTheFileThatTheNextRunMatches(t *testing.T) {
	t.Chdir(t.TempDir())
	defer func(was bool) { *update = was }(*update)
	*update = true
	Check(t, []byte("one\n"))
	CheckNamed(t, "part", []byte("two\n"))
	for path, want := range map[string]string{
		"testdata/" + t.Name() + ".golden":      "one\n",
		"testdata/" + t.Name() + "/part.golden": "two\n",
	} {
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want)
		}
	}
	*update = false
	Check(t, []byte("one\n"))
	CheckNamed(t, "part", []byte("two\n"))
}

// recorder is a testing.TB that keeps what Errorf says.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestADifferenceNamesTheFileAndItsFirstDifferingLine(t *testing.T) {
	t.Chdir(t.TempDir())
	path := filepath.Join("testdata", t.Name()+".golden")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	Check(r, []byte("a\nB\nc\n"))
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], path+" at line 2") || !strings.Contains(r.errors[0], `got: "B"`) {
		t.Errorf("errors = %q, want one naming %s at line 2", r.errors, path)
	}
}

// TestEveryPackageWithTestsTakesUpdate holds `go test ./... -update` to
// working: go test passes -update to every test binary, and one that does
// not import this package fails on the unknown flag.
func TestEveryPackageWithTestsTakesUpdate(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}`, "gold-standard-images/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const self = "gold-standard-images/internal/golden"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 1 || fields[0] == self {
			continue // no tests, or this package
		}
		if !strings.Contains(" "+line+" ", " "+self+" ") {
			t.Errorf("%s has tests but does not import %s: add an update_test.go", fields[0], self)
		}
	}
}

func TestCheckSectionComparesAndRewritesOnlyTheLinesBetweenTheMarkers(t *testing.T) {
	t.Chdir(t.TempDir())
	const before, after = "# Title\n<!-- x:start -->\n", "<!-- x:end -->\nmore\n"
	if err := os.WriteFile("README.md", []byte(before+"| a |\n| b |\n"+after), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	CheckSection(r, "README.md", "<!-- x:start -->", "<!-- x:end -->", []byte("| a |\n| B |\n"))
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "README.md differs at its line 2") || !strings.Contains(r.errors[0], `got: "| B |"`) {
		t.Errorf("errors = %q, want one naming README.md at line 2", r.errors)
	}
	defer func(was bool) { *update = was }(*update)
	*update = true
	CheckSection(t, "README.md", "<!-- x:start -->", "<!-- x:end -->", []byte("| c |\n"))
	if got, err := os.ReadFile("README.md"); err != nil || string(got) != before+"| c |\n"+after {
		t.Errorf("README.md = %q, %v; want the section rewritten", got, err)
	}
	*update = false
	CheckSection(t, "README.md", "<!-- x:start -->", "<!-- x:end -->", []byte("| c |\n"))
}
