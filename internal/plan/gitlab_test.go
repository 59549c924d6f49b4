package plan

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"gold-standard-images/internal/run"
)

// docs is the page with the GitLab CI example.
const docs = "docs/ci.md"

// yamlBlocks returns the ```yaml blocks of the docs page.
func yamlBlocks(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), docs))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(data), -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) < 2 {
		t.Fatalf("%s has %d yaml blocks, want the parent and the child pipeline", docs, len(blocks))
	}
	return blocks
}

func TestTheGitLabExampleMakesOneMatrixEntryPerPlannedJob(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatalf("this test needs jq (scripts/host/install-test-tools.sh installs it): %v", err)
	}
	blocks := yamlBlocks(t)
	for i, b := range blocks {
		var v any
		if err := yaml.Unmarshal([]byte(b), &v); err != nil {
			t.Errorf("%s: yaml block %d does not parse: %v", docs, i+1, err)
		}
	}
	var parent struct {
		Plan struct {
			Script []any `yaml:"script"`
		} `yaml:"plan"`
	}
	if err := yaml.Unmarshal([]byte(blocks[0]), &parent); err != nil {
		t.Fatal(err)
	}
	var jq string
	for _, line := range parent.Plan.Script {
		if s, ok := line.(string); ok && strings.HasPrefix(s, "jq ") {
			jq = s
		}
	}
	if jq == "" {
		t.Fatalf("%s: the plan job runs no jq", docs)
	}

	p := mustMake(t, fixtureRoot(t), nil, nil)
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plan.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run.Run(context.Background(), run.Cmd{Name: "sh", Args: []string{"-c", jq}, Dir: dir, Timeout: time.Minute}); err != nil {
		t.Fatalf("running the example's jq: %v", err)
	}
	out, err := os.ReadFile(filepath.Join(dir, "matrix.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var matrix struct {
		Build struct {
			Parallel struct {
				Matrix []map[string]string `yaml:"matrix"`
			} `yaml:"parallel"`
		} `yaml:"build"`
	}
	if err := yaml.Unmarshal(out, &matrix); err != nil {
		t.Fatalf("matrix.yml does not parse: %v\n%s", err, out)
	}
	entries := matrix.Build.Parallel.Matrix
	if len(entries) != len(p.Jobs) {
		t.Fatalf("matrix.yml has %d entries, the plan %d jobs:\n%s", len(entries), len(p.Jobs), out)
	}
	for i, j := range p.Jobs {
		want := map[string]string{"GSI_JOB": j.ID, "GSI_CAPABILITY": string(j.Capability), "GSI_CACHE_KEY": j.CacheKey}
		for k, v := range want {
			if entries[i][k] != v {
				t.Errorf("entry %d: %s = %q, want %q", i, k, entries[i][k], v)
			}
		}
	}
}
