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
	var names []string
	for _, tg := range listTargets(t) {
		names = append(names, tg.name)
		if len(tg.doc) < 15 || !strings.HasSuffix(tg.doc, ".") {
			t.Errorf("target %q has no one-sentence doc in mage -l: %q", tg.name, tg.doc)
		}
	}
	for _, want := range []string{"config", "keys"} {
		if !contains(names, want) {
			t.Errorf("mage -l does not list %q; it lists %v", want, names)
		}
	}
}

// targetEnv lists, per target, the environment variables its code reads
// (directly or through the packages it calls); each must be named in the
// target's help (mage -h <target>), so a newcomer finds every knob there.
var targetEnv = map[string][]string{
	"artifacts:diff":       {"DIFF_FORMAT"},
	"artifacts:checksum":   {"GPG_SIGNING_KEY", "GPG_PUBLIC_KEY", "COSIGN_KEY", "COSIGN_PASSWORD", "COSIGN_PUBLIC_KEY", "VERSION"},
	"artifacts:verify":     {"GPG_SIGNING_KEY", "GPG_PUBLIC_KEY", "COSIGN_KEY", "COSIGN_PASSWORD", "COSIGN_PUBLIC_KEY", "VERSION"},
	"artifacts:assemble":   {"GPG_SIGNING_KEY", "GPG_PUBLIC_KEY", "COSIGN_KEY", "COSIGN_PASSWORD", "COSIGN_PUBLIC_KEY", "VERSION"},
	"release:keys":         {"GPG_SIGNING_KEY", "GPG_PUBLIC_KEY", "COSIGN_KEY", "COSIGN_PASSWORD", "COSIGN_PUBLIC_KEY", "VERSION"},
	"release:verify":       {"GPG_SIGNING_KEY", "GPG_PUBLIC_KEY", "COSIGN_KEY", "COSIGN_PASSWORD", "COSIGN_PUBLIC_KEY", "DOCKER_CONFIG", "VERSION"},
	"boxes:check":          {"VERSION", "QEMU_ACCELERATOR"},
	"artifacts:convert":    {"VERSION", "ONLY", "EXCEPT", "QEMU_ACCELERATOR", "LIBGUESTFS_BACKEND", "LIBGUESTFS_BACKEND_SETTINGS"},
	"artifacts:debugboxes": {"VERSION", "ONLY", "EXCEPT", "QEMU_ACCELERATOR", "LIBGUESTFS_BACKEND", "LIBGUESTFS_BACKEND_SETTINGS"},
	"artifacts:inspect":    {"VERSION", "ONLY", "EXCEPT", "QEMU_ACCELERATOR", "LIBGUESTFS_BACKEND", "LIBGUESTFS_BACKEND_SETTINGS"},
	"build:debian12":       {"DEBIAN_MIRROR", "DEBIAN_SECURITY_MIRROR"},
	"build:centos7": {"ONLY", "EXCEPT", "FORCE", "VERSION", "PACKER", "PACKER_CACHE", "ISO_CACHE", "CATALOG_BASE_URL", "QEMU_ACCELERATOR", "PACKER_TIMEOUT", "LIBGUESTFS_BACKEND", "LIBGUESTFS_BACKEND_SETTINGS", "HEADLESS", "PACKER_ON_ERROR", "DEBUG_BOXES",
		"GPG_SIGNING_KEY", "GPG_PUBLIC_KEY", "COSIGN_KEY", "COSIGN_PASSWORD", "COSIGN_PUBLIC_KEY"},
	"catalog":       {"CATALOG_BASE_URL"},
	"config":        {"VERSION"},
	"iso:fetch":     {"ISO_CACHE"},
	"iso:verify":    {"ISO_CACHE"},
	"iso:import":    {"ISO_CACHE"},
	"ks:down":       {"CONTAINER_ENGINE", "CONTAINER_ENGINE_FLAGS"},
	"ks:render":     {"VERSION"},
	"ks:serve":      {"KS_ADDR", "VERSION"},
	"ks:up":         {"KS_PORT", "CONTAINER_ENGINE", "CONTAINER_ENGINE_FLAGS", "CONTAINER_RUN_FLAGS", "VERSION"},
	"plan":          {"ONLY", "EXCEPT", "VERSION", "PACKER", "PATH", "ISO_CACHE"},
	"test":          {"TEST_RUN", "TEST_PKGS", "PACKER", "PACKER_CACHE"},
	"upload:aws":    {"AWS_S3_BUCKET", "AWS_ENDPOINT_URL", "AWS_IMPORT_TIMEOUT", "VERSION"},
	"upload:azure":  {"AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZURE_LOCATION", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_CONTAINER", "AZURE_IMAGE_TIMEOUT", "AZURE_STORAGE_BLOB_ENDPOINT", "AZURE_RESOURCE_MANAGER_ENDPOINT", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "VERSION"},
	"upload:gcp":    {"GCP_PROJECT", "GCS_BUCKET", "GCP_IMAGE_FAMILY", "GCP_IMAGE_TIMEOUT", "GCE_ENDPOINT", "STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "VERSION"},
	"upload:docker": {"REGISTRY", "REGISTRY_INSECURE", "REGISTRY_NAMESPACE", "DOCKER_OUT", "VERSION", "GPG_SIGNING_KEY", "GPG_PUBLIC_KEY", "COSIGN_KEY", "COSIGN_PASSWORD", "COSIGN_PUBLIC_KEY"},
	"upload:openstack": {"OS_CLOUD", "OS_CLIENT_CONFIG_FILE", "OS_AUTH_TYPE", "OS_AUTH_URL", "OS_ENDPOINT", "OS_USERNAME", "OS_USER_ID", "OS_PASSWORD",
		"OS_USER_DOMAIN_NAME", "OS_USER_DOMAIN_ID", "OS_PROJECT_NAME", "OS_PROJECT_ID", "OS_TENANT_NAME", "OS_TENANT_ID", "OS_PROJECT_DOMAIN_NAME", "OS_PROJECT_DOMAIN_ID",
		"OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_NAME", "OS_APPLICATION_CREDENTIAL_SECRET", "OS_TOKEN",
		"OS_REGION_NAME", "OS_INTERFACE", "OS_CACERT", "OS_INSECURE", "OS_IMAGE_VISIBILITY", "OS_IMAGE_PROTECTED", "OS_IMAGE_TIMEOUT", "FORCE", "VERSION"},
	"upload:vmware": {"GOVC_URL", "GOVC_USERNAME", "GOVC_PASSWORD", "GOVC_INSECURE", "GOVC_DATACENTER", "GOVC_DATASTORE", "GOVC_FOLDER", "GOVC_RESOURCE_POOL", "GOVC_NETWORK", "FORCE", "VERSION"},
	"validate":      {"PACKER", "PACKER_CACHE", "VERSION"},
}

// sharedEnv lists the targets that read the same variables as another
// target: their help refers to that target's instead of repeating it.
var sharedEnv = map[string]string{
	"build:rhel7":    "build:centos7",
	"build:os":       "build:centos7",
	"build:rocky8":   "build:centos7",
	"build:rocky9":   "build:centos7",
	"build:rocky10":  "build:centos7",
	"build:alma9":    "build:centos7",
	"build:alma10":   "build:centos7",
	"build:stream9":  "build:centos7",
	"build:stream10": "build:centos7",
	"build:rhel8":    "build:centos7",
	"build:rhel9":    "build:centos7",
	"build:rhel10":   "build:centos7",
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
