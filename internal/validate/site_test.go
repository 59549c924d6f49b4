package validate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/run"
)

// TestSitePlaybookRefusesMissingOrUnknownBuilds runs the real
// ansible/site.yml against this machine. The play's first task checks the
// extra variables and stops the play, so nothing on this machine changes;
// --check keeps it that way even if the check were broken.
func TestSitePlaybookRefusesMissingOrUnknownBuilds(t *testing.T) {
	root := realRoot(t)
	for _, tc := range []struct {
		name, extraVars string
	}{
		{"NoBuild", `{"vm_name": "CentOS-7.9.2009", "version": "1.0.0"}`},
		{"UnknownBuild", `{"build": "hyperv", "vm_name": "CentOS-7.9.2009", "version": "1.0.0"}`},
		{"VagrantBoxWithoutKey", `{"build": "virtualbox", "vm_name": "CentOS-7.9.2009", "version": "1.0.0"}`},
		{"VagrantBoxWithEmptyKey", `{"build": "virtualbox", "vm_name": "CentOS-7.9.2009", "version": "1.0.0", "vagrant_public_key_file": ""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run.Run(context.Background(), run.Cmd{
				Name:   "ansible-playbook",
				Args:   []string{"--check", "-i", "localhost,", "-c", "local", "--extra-vars", tc.extraVars, "ansible/site.yml"},
				Dir:    root,
				Env:    []string{"ANSIBLE_NOCOLOR=1"},
				Output: &out,
			})
			if run.IsNotFound(err) {
				t.Fatalf("ansible-playbook is not installed (Debian: apt-get install -y ansible): %v", err)
			}
			if err == nil {
				t.Fatalf("site.yml accepted %s:\n%s", tc.extraVars, out.String())
			}
			for _, want := range []string{"needs the extra variable build", strings.Join(slices.Sorted(slices.Values(providers.Names(providers.All))), ", "), "vagrant_public_key_file"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			if strings.Contains(out.String(), "TASK [repos") {
				t.Errorf("a role ran after the failed check:\n%s", out.String())
			}
		})
	}
}

// TestReposRoleDefaults evaluates the repos role's defaults with the real
// ansible-playbook for the extra variables the Packer templates pass: a
// given repo_server and os_version win; empty ones fall back to the CentOS
// vault for CentOS 7 and to no change elsewhere (CentOS Stream included).
func TestReposRoleDefaults(t *testing.T) {
	root := realRoot(t)
	play := filepath.Join(t.TempDir(), "defaults.yml")
	body := `---
- name: Show the repos defaults
  hosts: localhost
  gather_facts: false
  vars_files:
    - ` + filepath.Join(root, "ansible/roles/repos/defaults/main.yml") + `
  tasks:
    - name: Print them
      ansible.builtin.debug:
        msg: "server=[{{ repos_server }}] version=[{{ repos_os_version }}]"
`
	if err := os.WriteFile(play, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, extraVars, want string
	}{
		{"CentOSGiven", `{"ansible_distribution": "CentOS", "repo_server": "http://mirror.example/centos", "os_version": "7.9.2009"}`,
			"server=[http://mirror.example/centos] version=[7.9.2009]"},
		{"CentOSEmpty", `{"ansible_distribution": "CentOS", "repo_server": "", "os_version": ""}`,
			"server=[https://vault.centos.org] version=[]"},
		{"CentOSMissing", `{"ansible_distribution": "CentOS"}`,
			"server=[https://vault.centos.org] version=[]"},
		{"RedHatEmpty", `{"ansible_distribution": "RedHat", "repo_server": "", "os_version": "7.9"}`,
			"server=[] version=[7.9]"},
		{"RedHatGiven", `{"ansible_distribution": "RedHat", "repo_server": "https://satellite.example/rhel", "os_version": "7.9"}`,
			"server=[https://satellite.example/rhel] version=[7.9]"},
		{"CentOSStreamEmpty", `{"ansible_distribution": "CentOS", "ansible_distribution_major_version": "9", "repo_server": "", "os_version": "9"}`,
			"server=[] version=[9]"},
		{"RockyGiven", `{"ansible_distribution": "Rocky", "ansible_distribution_major_version": "9", "repo_server": "https://dl.rockylinux.org/vault/rocky", "os_version": "9.6"}`,
			"server=[https://dl.rockylinux.org/vault/rocky] version=[9.6]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run.Run(context.Background(), run.Cmd{
				Name:   "ansible-playbook",
				Args:   []string{"-i", "localhost,", "-c", "local", "--extra-vars", tc.extraVars, play},
				Dir:    root,
				Env:    []string{"ANSIBLE_NOCOLOR=1"},
				Output: &out,
			})
			if err != nil {
				t.Fatalf("ansible-playbook: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out.String())
			}
		})
	}
}
