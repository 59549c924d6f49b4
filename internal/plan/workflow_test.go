package plan

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// workflow is the GitHub Actions workflow the plan drives.
const workflow = ".github/workflows/images.yml"

// shellcheckCommand is how actionlint runs shellcheck on the run: scripts:
// bounded in time (actionlint itself runs at most one per CPU at once).
// Where shellcheck is missing the test fails in CI and skips that check
// elsewhere.
func shellcheckCommand(t *testing.T) string {
	t.Helper()
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("this test needs shellcheck (scripts/host/install-test-tools.sh installs it): %v", err)
		}
		t.Log("shellcheck is not installed: the workflow's scripts are not checked")
		return ""
	}
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Fatalf("this test needs timeout (coreutils) to bound shellcheck: %v", err)
	}
	return "timeout --kill-after=5 60 " + sc
}

func TestTheWorkflowPassesActionlint(t *testing.T) {
	var out strings.Builder
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{
		Shellcheck: shellcheckCommand(t),
		WorkingDir: repoRoot(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFile(filepath.Join(repoRoot(t), workflow), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", workflow, e.Line, e.Column, e.Message, e.Kind)
	}
}

// TestTheWorkflowReadsOnlyFieldsTheJobsHave catches a workflow left behind
// by a renamed Job field: GitHub expands an unknown field to an empty string.
func TestTheWorkflowReadsOnlyFieldsTheJobsHave(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), workflow))
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{}
	jt := reflect.TypeFor[Job]()
	for i := range jt.NumField() {
		name, _, _ := strings.Cut(jt.Field(i).Tag.Get("json"), ",")
		fields[name] = true
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`matrix\.job\.([a-z_]+)`).FindAllStringSubmatch(string(data), -1) {
		used[m[1]] = true
	}
	if len(used) == 0 {
		t.Fatal("the workflow reads no field of matrix.job")
	}
	var unknown []string
	for f := range used {
		if !fields[f] {
			unknown = append(unknown, f)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("%s reads matrix.job fields a Job does not have: %s", workflow, strings.Join(unknown, ", "))
	}
	for _, f := range []string{"runs_on", "only", "cache_key", "cache_paths", "upload_paths", "vm_name", "id"} {
		if !used[f] {
			t.Errorf("%s does not use matrix.job.%s", workflow, f)
		}
	}
	if !strings.Contains(string(data), ManifestFile) {
		t.Errorf("%s does not write the job's manifest %s", workflow, ManifestFile)
	}
}
