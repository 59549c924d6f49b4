package validate

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/packer/packertest"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/tree"
)

func realRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func realPacker(t *testing.T) string { return packertest.Real(t, realRoot(t)) }

// someOS are the OS definitions repo copies: two kickstart families, one
// with a site-supplied ISO. Every shipped definition is validated once, by
// TestTheRepositoryPassesEveryCheck; the other tests check what Run does
// with a tree, which two definitions show as well as all of them (each
// costs a `packer validate`: twenty Packer processes, several seconds).
var someOS = []string{"CentOS-7.9.2009", "RedHat-9.6"}

// repo makes a repository root holding someOS of this repository's OS
// definitions, its Packer templates and kickstart files (http/) plus the
// given files (path -> content), which win over the copied ones.
func repo(t *testing.T, files map[string]string) string {
	t.Helper()
	src := realRoot(t)
	dst := t.TempDir()
	for _, dir := range []string{"templates/os", "templates/packer", "http"} {
		err := filepath.WalkDir(filepath.Join(src, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(src, path)
			if _, given := files[rel]; given {
				return nil
			}
			if dir == "templates/os" && filepath.Ext(rel) == ".json" && !slices.Contains(someOS, strings.TrimSuffix(filepath.Base(rel), ".json")) {
				return nil
			}
			data, err := os.ReadFile(path)
			files[rel] = string(data)
			return err
		})
		if err != nil {
			t.Fatalf("copying %s: %v", dir, err)
		}
	}
	for rel, body := range files {
		p := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

const goodPlaybook = "---\n- name: Stand-in play\n  hosts: all\n  tasks:\n    - name: Say hello\n      ansible.builtin.debug:\n        msg: hello\n"

func noEnv(string) string { return "" }

func TestRunPassesWhenEverythingIsValid(t *testing.T) {
	root := repo(t, map[string]string{
		"ansible/site.yml":   goodPlaybook,
		"scripts/cleanup.sh": "#!/bin/sh\n",
		"scripts/zero.sh":    "#!/bin/sh\n",
	})
	var said []string
	err := Run(context.Background(), Options{
		Root:   root,
		Packer: realPacker(t),
		Getenv: noEnv,
		Say:    func(f string, a ...any) { said = append(said, fmt.Sprintf(f, a...)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"packer CentOS-7.9.2009: ok", "packer RedHat-9.6: ok",
		"ansible syntax check: ok", "ansible-lint: ok", "shellcheck: ok", "kickstart render: ok",
	} {
		if !contains(said, want) {
			t.Errorf("progress lacks %q: %q", want, said)
		}
	}
}

func TestRunReportsEveryFailureTogether(t *testing.T) {
	root := repo(t, map[string]string{
		// Valid YAML, but not a playbook: the syntax check and lint fail.
		"ansible/site.yml": "---\n- name: Broken\n  hosts: all\n  tasks:\n    - name: No module\n      no_such_module_anywhere: {}\n",
		// scripts/ missing: the shell provisioner fails packer validate.
		// A gcp build with a file system anaconda does not know.
		"http/builds/virtual/gcp": "disk = vda\nswap = none\nlvm = no\nboot = 0\nfstype = zfs\n",
	})
	err := Run(context.Background(), Options{Root: root, Packer: realPacker(t), Getenv: noEnv})
	if err == nil {
		t.Fatal("Run passed a repository with a broken playbook and no scripts")
	}
	for _, want := range []string{
		"packer CentOS-7.9.2009:", "scripts/cleanup.sh",
		"packer RedHat-9.6:",
		"ansible syntax check:", "no_such_module_anywhere",
		"ansible-lint:",
		"shellcheck: no *.sh files",
		"kickstart render:", "virtual/gcp", "zfs",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// A broken OS definition dropped next to the shipped ones (here an unknown
// kickstart family, as a user adding templates/os/Rocky-9.4.json might
// write) fails its own checks, naming its file; every shipped OS still
// passes packer validate and renders its kickstarts.
func TestRunReportsABrokenOSDefinitionAndChecksTheOthers(t *testing.T) {
	root := repo(t, map[string]string{
		"ansible/site.yml":            goodPlaybook,
		"scripts/cleanup.sh":          "#!/bin/sh\n",
		"scripts/zero.sh":             "#!/bin/sh\n",
		"templates/os/Rocky-9.4.json": `{"vm_name": "Rocky-9.4", "os_name": "Rocky", "os_version": "9.4", "iso": "Rocky-9.4-x86_64-minimal", "iso_checksum": "` + strings.Repeat("a", 64) + `", "iso_server": "https://dl.rockylinux.org/vault/rocky", "os_family": "rocky9"}`,
	})
	var said []string
	err := Run(context.Background(), Options{
		Root: root, Packer: realPacker(t), Getenv: noEnv,
		Say: func(f string, a ...any) { said = append(said, fmt.Sprintf(f, a...)) },
	})
	if err == nil {
		t.Fatal("Run passed with a broken OS definition")
	}
	for _, want := range []string{"packer Rocky-9.4:", `"templates/os/Rocky-9.4.json"`, `field "os_family"`, "kickstart render:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, vm := range someOS {
		if want := "packer " + vm + ": ok"; !contains(said, want) {
			t.Errorf("progress lacks %q: %q", want, said)
		}
	}
	if strings.Contains(err.Error(), "for CentOS-7.9.2009") || strings.Contains(err.Error(), "for Rocky-9.6") {
		t.Errorf("the shipped definitions' kickstarts are reported broken too:\n%v", err)
	}
}

func TestRunNamesTheOSDefinitionWithABadVersion(t *testing.T) {
	root := repo(t, map[string]string{
		"ansible/site.yml":   goodPlaybook,
		"scripts/cleanup.sh": "#!/bin/sh\n",
		"scripts/zero.sh":    "#!/bin/sh\n",
	})
	getenv := func(k string) string {
		if k == "VERSION" {
			return "1.0/bad"
		}
		return ""
	}
	err := Run(context.Background(), Options{Root: root, Packer: realPacker(t), Getenv: getenv})
	if err == nil || !strings.Contains(err.Error(), "packer CentOS-7.9.2009:") || !strings.Contains(err.Error(), "VERSION") {
		t.Fatalf("want a failure naming the OS definition and VERSION, got %v", err)
	}
}

// TestRunPassesOnATreeThatHasBuilt: a build keeps Packer's output in
// .cache/packer-output/<version>/<vm_name>/<provider>, which `packer
// validate` refuses as an output folder ("already exists"); validate must
// not use it.
func TestRunPassesOnATreeThatHasBuilt(t *testing.T) {
	root := repo(t, map[string]string{
		"ansible/site.yml":   goodPlaybook,
		"scripts/cleanup.sh": "#!/bin/sh\n",
		"scripts/zero.sh":    "#!/bin/sh\n",
	})
	for _, p := range providers.All {
		kept := filepath.Join(root, tree.Build{Version: config.Defaults().Version, VMName: "CentOS-7.9.2009"}.PackerOutput(p.Name))
		if err := os.MkdirAll(kept, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	err := Templates(context.Background(), Options{Root: root, Packer: realPacker(t), Getenv: noEnv, Log: &log, Say: func(string, ...any) {}}, func(name string, err error) {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		t.Logf("Packer's output:\n%s", log.String())
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

// TestTheRepositoryPassesEveryCheck runs what `mage validate` runs on this
// repository, with the real pinned Packer: CI's validate.
func TestTheRepositoryPassesEveryCheck(t *testing.T) {
	var log bytes.Buffer
	var said []string
	err := Run(context.Background(), Options{
		Root:   realRoot(t),
		Packer: realPacker(t),
		Getenv: noEnv,
		Log:    &log,
		Say:    func(f string, a ...any) { said = append(said, fmt.Sprintf(f, a...)) },
	})
	if err != nil {
		t.Fatalf("%v\ntool output:\n%s", err, log.String())
	}
	for _, want := range []string{"packer CentOS-7.9.2009: ok", "ansible-lint: ok", "shellcheck: ok", "kickstart render: ok"} {
		if !contains(said, want) {
			t.Errorf("progress lacks %q: %q", want, said)
		}
	}
}

func TestShellcheckNamesTheScriptAndTheFinding(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "scripts", "host")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	good := "#!/bin/bash\nset -eu\necho \"$1\"\n"
	bad := "#!/bin/bash\necho $1\n" // SC2086: unquoted expansion
	for name, body := range map[string]string{"scripts/good.sh": good, "scripts/host/bad.sh": bad, "scripts/README.md": "not a script $1\n"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err := Shellcheck(context.Background(), root, nil)
	if err == nil {
		t.Fatal("shellcheck passed a script with an unquoted $1")
	}
	for _, want := range []string{"scripts/host/bad.sh", "SC2086"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if regexp.MustCompile(`good\.sh:[0-9]`).MatchString(err.Error()) || strings.Contains(err.Error(), "README") {
		t.Errorf("only bad.sh has findings:\n%v", err)
	}
}

func TestShellcheckFailsWithoutScripts(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Shellcheck(context.Background(), root, nil)
	if err == nil || !strings.Contains(err.Error(), "no *.sh files") {
		t.Fatalf("want a no-scripts error, got %v", err)
	}
}
