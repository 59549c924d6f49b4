package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTheCIWorkflowRunsEveryUploadTarget holds CONTRIBUTING's "Adding an
// upload": the assemble job of the CI workflow has a step for every
// upload:<platform> target that mage -l lists.
func TestTheCIWorkflowRunsEveryUploadTarget(t *testing.T) {
	const workflow = ".github/workflows/images.yml"
	data, err := os.ReadFile(filepath.Join(repoRoot(t), workflow))
	if err != nil {
		t.Fatal(err)
	}
	uploads := 0
	for _, tg := range listTargets(t) {
		if !strings.HasPrefix(tg.name, "upload:") {
			continue
		}
		uploads++
		if !strings.Contains(string(data), "go run magefile.go "+tg.name+" ") {
			t.Errorf("%s runs no `go run magefile.go %s` (CONTRIBUTING.md, Adding an upload)", workflow, tg.name)
		}
	}
	if uploads == 0 {
		t.Error("mage -l lists no upload:<platform> target")
	}
}
