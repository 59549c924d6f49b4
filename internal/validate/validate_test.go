package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gold-standard-images/internal/packerbin"
)

func realRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func realPacker(t *testing.T) string {
	t.Helper()
	var log bytes.Buffer
	path, _, err := packerbin.Find(context.Background(), realRoot(t), os.Getenv, &log)
	if err != nil {
		t.Fatalf("the real Packer is needed: %v\n%s", err, log.String())
	}
	return path
}

// repo makes a repository root holding this repository's OS definitions and
// Packer templates plus the given files (path -> content).
func repo(t *testing.T, files map[string]string) string {
	t.Helper()
	src := realRoot(t)
	dst := t.TempDir()
	for _, pattern := range []string{"templates/os/*.json", "templates/packer/*.pkr.hcl"} {
		matches, err := filepath.Glob(filepath.Join(src, pattern))
		if err != nil || len(matches) == 0 {
			t.Fatalf("no %s in %s: %v", pattern, src, err)
		}
		for _, m := range matches {
			data, err := os.ReadFile(m)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(src, m)
			files[rel] = string(data)
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
	rendered := false
	err := Run(context.Background(), Options{
		Root:      root,
		Packer:    realPacker(t),
		Getenv:    noEnv,
		Say:       func(f string, a ...any) { said = append(said, fmt.Sprintf(f, a...)) },
		RenderAll: func(context.Context) error { rendered = true; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rendered {
		t.Error("RenderAll was not called")
	}
	for _, want := range []string{
		"packer CentOS-7.6.1810: ok", "packer CentOS-7.9.2009: ok", "packer RedHat-7.9: ok",
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
	})
	err := Run(context.Background(), Options{
		Root:      root,
		Packer:    realPacker(t),
		Getenv:    noEnv,
		RenderAll: func(context.Context) error { return errors.New(`rendering "virtual/gcp" for "RedHat-7.9": boom`) },
	})
	if err == nil {
		t.Fatal("Run passed a repository with a broken playbook and no scripts")
	}
	for _, want := range []string{
		"packer CentOS-7.9.2009:", "scripts/cleanup.sh",
		"packer RedHat-7.9:",
		"ansible syntax check:", "no_such_module_anywhere",
		"ansible-lint:",
		"shellcheck: no *.sh files",
		`kickstart render: rendering "virtual/gcp" for "RedHat-7.9": boom`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestRunFailsWhileTheKickstartRendererIsNotWired(t *testing.T) {
	root := repo(t, map[string]string{
		"ansible/site.yml":   goodPlaybook,
		"scripts/cleanup.sh": "#!/bin/sh\n",
		"scripts/zero.sh":    "#!/bin/sh\n",
	})
	err := Run(context.Background(), Options{Root: root, Packer: realPacker(t), Getenv: noEnv})
	if err == nil || !strings.Contains(err.Error(), "kickstart render: not wired") {
		t.Fatalf("want a kickstart-not-wired failure, got %v", err)
	}
	if strings.Contains(err.Error(), "packer ") || strings.Contains(err.Error(), "ansible") {
		t.Errorf("only the kickstart check should fail:\n%v", err)
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
	err := Run(context.Background(), Options{Root: root, Packer: realPacker(t), Getenv: getenv, RenderAll: func(context.Context) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "packer CentOS-7.9.2009:") || !strings.Contains(err.Error(), "VERSION") {
		t.Fatalf("want a failure naming the OS definition and VERSION, got %v", err)
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

func TestTheRepositoryPassesEveryCheckButTheKickstart(t *testing.T) {
	root := realRoot(t)
	ctx := context.Background()
	var log bytes.Buffer
	if err := AnsibleSyntax(ctx, root, &log); err != nil {
		t.Errorf("ansible syntax check of ansible/site.yml: %v", err)
	}
	if err := AnsibleLint(ctx, root, &log); err != nil {
		t.Errorf("ansible-lint of ansible/: %v", err)
	}
	if err := Shellcheck(ctx, root, &log); err != nil {
		t.Errorf("shellcheck of scripts/: %v", err)
	}
	var said []string
	err := Templates(ctx, Options{Root: root, Packer: realPacker(t), Getenv: noEnv, Log: &log, Say: t.Logf}, func(name string, err error) {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		said = append(said, name)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(said) == 0 {
		t.Error("packer validate checked no OS definition")
	}
	if t.Failed() {
		t.Logf("tool output:\n%s", log.String())
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
