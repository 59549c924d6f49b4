// Package test holds integration tests that run the real mage targets from
// the repository root.
package test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gold-standard-images/internal/envvar"
)

// repoRoot is the repository root, one folder up from test/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// mage runs `go run magefile.go args...` (the zero-install entry) in dir.
func mage(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"run", filepath.Join(repoRoot(t), "magefile.go")}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

var targetLine = regexp.MustCompile(`^  (\S+)\s*(.*)$`)

func TestEveryListedTargetHasADocSentence(t *testing.T) {
	out, stderr, err := mage(t, repoRoot(t), nil, "-l")
	if err != nil {
		t.Fatalf("mage -l: %v\n%s", err, stderr)
	}
	var targets []string
	for _, line := range strings.Split(out, "\n") {
		m := targetLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		targets = append(targets, m[1])
		doc := strings.TrimSpace(m[2])
		if len(doc) < 15 || !strings.HasSuffix(doc, ".") {
			t.Errorf("target %q has no one-sentence doc in mage -l: %q", m[1], doc)
		}
	}
	for _, want := range []string{"config", "keys"} {
		if !contains(targets, want) {
			t.Errorf("mage -l does not list %q; it lists %v", want, targets)
		}
	}
}

// targetEnv lists, per target, the environment variables its code reads
// (directly or through the packages it calls); each must be named in the
// target's help (mage -h <target>), so a newcomer finds every knob there.
var targetEnv = map[string][]string{
	"artifacts:diff":    {"DIFF_FORMAT"},
	"boxes:check":       {"VERSION", "QEMU_ACCELERATOR"},
	"artifacts:convert": {"VERSION", "ONLY", "EXCEPT", "QEMU_ACCELERATOR", "LIBGUESTFS_BACKEND", "LIBGUESTFS_BACKEND_SETTINGS"},
	"build:centos7":     {"ONLY", "EXCEPT", "FORCE", "VERSION", "PACKER", "PACKER_CACHE", "ISO_CACHE", "CATALOG_BASE_URL", "QEMU_ACCELERATOR", "PACKER_TIMEOUT", "LIBGUESTFS_BACKEND", "LIBGUESTFS_BACKEND_SETTINGS"},
	"catalog":           {"CATALOG_BASE_URL"},
	"config":            {"VERSION"},
	"iso:fetch":         {"ISO_CACHE"},
	"iso:verify":        {"ISO_CACHE"},
	"ks:down":           {"CONTAINER_ENGINE", "CONTAINER_ENGINE_FLAGS"},
	"ks:render":         {"VERSION"},
	"ks:serve":          {"KS_ADDR", "VERSION"},
	"ks:up":             {"KS_PORT", "CONTAINER_ENGINE", "CONTAINER_ENGINE_FLAGS", "CONTAINER_RUN_FLAGS", "VERSION"},
	"plan":              {"ONLY", "EXCEPT", "VERSION", "PACKER", "PATH", "ISO_CACHE"},
	"test":              {"TEST_RUN", "TEST_PKGS", "PACKER", "PACKER_CACHE"},
	"upload:aws":        {"AWS_S3_BUCKET", "AWS_ENDPOINT_URL", "AWS_IMPORT_TIMEOUT", "VERSION"},
	"upload:docker":     {"REGISTRY", "REGISTRY_INSECURE", "REGISTRY_NAMESPACE", "DOCKER_OUT", "VERSION"},
	"validate":          {"PACKER", "PACKER_CACHE", "VERSION"},
}

// sharedEnv lists the targets that read the same variables as another
// target: their help refers to that target's instead of repeating it.
var sharedEnv = map[string]string{
	"build:rhel7": "build:centos7",
	"build:os":    "build:centos7",
}

func TestEveryTargetsHelpNamesTheEnvironmentItReads(t *testing.T) {
	for target, vars := range targetEnv {
		out, stderr, err := mage(t, repoRoot(t), nil, "-h", target)
		if err != nil {
			t.Errorf("mage -h %s: %v\n%s", target, err, stderr)
			continue
		}
		for _, v := range vars {
			if !regexp.MustCompile(`\b` + v + `\b`).MatchString(out) {
				t.Errorf("mage -h %s does not name %s:\n%s", target, v, out)
			}
		}
	}
	for target, other := range sharedEnv {
		if _, ok := targetEnv[other]; !ok {
			t.Errorf("%s shares the environment of %s, which targetEnv does not list", target, other)
		}
		out, stderr, err := mage(t, repoRoot(t), nil, "-h", target)
		if err != nil {
			t.Errorf("mage -h %s: %v\n%s", target, err, stderr)
			continue
		}
		if want := "Environment: as for " + other + " (mage -h " + other + ")."; !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("mage -h %s does not say %q:\n%s", target, want, out)
		}
	}
}

func TestEveryVariableATargetReadsIsInTheTable(t *testing.T) {
	for target, vars := range targetEnv {
		for _, v := range vars {
			if _, ok := envvar.Lookup(v); !ok {
				t.Errorf("%s reads %s, which is not in internal/envvar's table", target, v)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestConfigTargetPrintsRedactedJSON(t *testing.T) {
	out, stderr, err := mage(t, repoRoot(t), []string{"VERSION=9.9.9"}, "config", "CentOS-7.9.2009")
	if err != nil {
		t.Fatalf("mage config: %v\n%s", err, stderr)
	}
	var got struct {
		Site struct {
			Version  string `json:"version"`
			RootPass string `json:"root_pass"`
		} `json:"site"`
		OS struct {
			VMName string `json:"vm_name"`
		} `json:"os"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if got.Site.Version != "9.9.9" || got.OS.VMName != "CentOS-7.9.2009" {
		t.Errorf("config = %+v", got)
	}
	if strings.Contains(out, "$6$") {
		t.Error("the password hash is printed")
	}
}

func TestConfigTargetRejectsUnknownVMName(t *testing.T) {
	out, stderr, err := mage(t, repoRoot(t), nil, "config", "CentOS-8")
	if err == nil {
		t.Fatalf("mage config CentOS-8 succeeded: %s", out)
	}
	if !strings.Contains(stderr, `no OS definition "CentOS-8"`) || !strings.Contains(stderr, "CentOS-7.9.2009") {
		t.Errorf("stderr does not name the definition and the available ones:\n%s", stderr)
	}
}
