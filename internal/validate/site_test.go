package validate

import (
	"bytes"
	"context"
	"strings"
	"testing"

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
		{"VagrantBoxWithEmptyKey", `{"build": "vmware", "vm_name": "CentOS-7.9.2009", "version": "1.0.0", "vagrant_public_key_file": ""}`},
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
			for _, want := range []string{"needs the extra variable build", "aws, azure, docker, gcp, openstack, virtualbox, vmware", "vagrant_public_key_file"} {
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
