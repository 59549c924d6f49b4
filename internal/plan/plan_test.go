package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/golden"
	"gold-standard-images/internal/pipeline"
	"gold-standard-images/internal/providers"
)

// repoRoot is the repository root, two folders up.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// fixtureRoot is a repository root holding the repository's own OS
// definitions (and the keys they name) with small fixed build inputs, so
// that the fingerprints change only when the definitions do.
func fixtureRoot(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	for _, dir := range []string{"templates/os", "templates/gpg"} {
		if err := os.CopyFS(filepath.Join(root, dir), os.DirFS(filepath.Join(repoRoot(t), dir))); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, root, map[string]string{
		"http/templates/rhel7.ks.tmpl":      "install\n",
		"ansible/site.yml":                  "- hosts: all\n",
		"scripts/zero.sh":                   "#!/bin/sh\n",
		"templates/packer/build.pkr.hcl":    "build {}\n",
		"keys/packer":                       "the fixture site's private key\n",
		"keys/packer.pub":                   "ssh-ed25519 AAAA packer\n",
		"keys/vagrant.pub":                  "ssh-ed25519 AAAA vagrant\n",
		"README.md":                         "not a build input\n",
		"templates/packer/sources.pkr.hcl":  "source \"qemu\" \"base\" {}\n",
		"http/builds/virtual/defaults":      "disk = sda\n",
		"ansible/roles/base/tasks/main.yml": "- name: base\n",
	})
	return root
}

func writeFiles(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func mustMake(t *testing.T, root string, vmNames []string, vars map[string]string) Plan {
	t.Helper()
	p, err := Make(context.Background(), root, vmNames, env(vars), Options{PackerVersion: "1.9.4"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestThePlanOfTheShippedDefinitionsIsGolden(t *testing.T) {
	p := mustMake(t, fixtureRoot(t), nil, nil)
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, data)
}

func TestEveryShippedDefinitionIsPlannedOrNamedAsAProblem(t *testing.T) {
	root := fixtureRoot(t)
	p := mustMake(t, root, nil, nil)
	defs, err := filepath.Glob(filepath.Join(root, "templates/os/*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, vm := range p.VMNames {
		seen[vm] = true
	}
	for _, pr := range p.Problems {
		if seen[pr.VMName] {
			t.Errorf("%s is both planned and a problem", pr.VMName)
		}
		seen[pr.VMName] = true
		// Only a definition whose ISO the site supplies may fail to load
		// without a site file.
		data, err := os.ReadFile(filepath.Join(root, "templates/os", pr.VMName+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var def struct {
			SiteSuppliedISO bool `json:"site_supplied_iso"`
		}
		if err := json.Unmarshal(data, &def); err != nil || !def.SiteSuppliedISO {
			t.Errorf("shipped definition %s does not load: %s", pr.VMName, pr.Error)
		}
	}
	for _, w := range p.Warnings { // a family the runners cannot build yet
		if vm, _, ok := strings.Cut(w, " is not planned: "); ok {
			if seen[vm] {
				t.Errorf("%s is planned or a problem, and not planned", vm)
			}
			seen[vm] = true
		}
	}
	for _, d := range defs {
		if vm := strings.TrimSuffix(filepath.Base(d), ".json"); !seen[vm] {
			t.Errorf("%s is neither planned, nor a problem, nor said not to be planned", vm)
		}
	}
	if len(p.VMNames) == 0 {
		t.Fatal("no shipped definition was planned")
	}
}

func TestADefinitionThatFailsToLoadIsAProblemOfItsVMNameOnly(t *testing.T) {
	root := fixtureRoot(t)
	writeFiles(t, root, map[string]string{"templates/os/Broken-1.0.json": `{"vm_name": "Broken-1.0", "os_name": 7}`})
	p := mustMake(t, root, []string{"Broken-1.0", "CentOS-7.9.2009", "No-Such-OS"}, nil)
	if len(p.Problems) != 2 || p.Problems[0].VMName != "Broken-1.0" || p.Problems[1].VMName != "No-Such-OS" {
		t.Fatalf("problems = %+v, want Broken-1.0 and No-Such-OS", p.Problems)
	}
	if !strings.Contains(p.Problems[0].Error, "os_name") {
		t.Errorf("the problem does not name the bad field: %s", p.Problems[0].Error)
	}
	if len(p.VMNames) != 1 || p.VMNames[0] != "CentOS-7.9.2009" || len(p.Jobs) != 3 {
		t.Errorf("planned %v in %d jobs, want CentOS-7.9.2009 in 3", p.VMNames, len(p.Jobs))
	}
	if err := p.Err(true); err == nil || !strings.Contains(err.Error(), "Broken-1.0") || !strings.Contains(err.Error(), "No-Such-OS") {
		t.Errorf("with the vm_names named, Err() = %v, want both named", err)
	}
	if err := p.Err(false); err != nil {
		t.Errorf("planning every definition, Err() = %v, want the problems taken as warnings", err)
	}
	if err := (Plan{Problems: p.Problems}).Err(false); err == nil {
		t.Error("a plan of every definition with no job at all: Err() = nil, want an error")
	}
}

func TestOnlyAndExceptSelectTheProvidersOfTheJobs(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want []string // job id: providers
	}{
		{"all", nil, []string{"CentOS-7.9.2009-g1-virtualbox: aws,virtualbox", "CentOS-7.9.2009-g2-kvm: azure,docker,gcp,openstack", "CentOS-7.9.2009-g2-vmware: vmware"}},
		{"only", map[string]string{"ONLY": "vmware,aws"}, []string{"CentOS-7.9.2009-g1-virtualbox: aws", "CentOS-7.9.2009-g2-vmware: vmware"}},
		{"except", map[string]string{"EXCEPT": "virtualbox,aws,vmware,docker"}, []string{"CentOS-7.9.2009-g2-kvm: azure,gcp,openstack"}},
	}
	root := fixtureRoot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustMake(t, root, []string{"CentOS-7.9.2009"}, tt.vars)
			var got []string
			for _, j := range p.Jobs {
				got = append(got, j.ID+": "+j.Only)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("jobs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	if _, err := Make(context.Background(), root, nil, env(map[string]string{"ONLY": "nope"}), Options{PackerVersion: "1.9.4"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("ONLY=nope: err = %v, want it named", err)
	}
}

func TestTheCacheKeyIsTheBuildsOwnFingerprint(t *testing.T) {
	root := fixtureRoot(t)
	p := mustMake(t, root, []string{"CentOS-7.9.2009"}, nil)
	cfg := loadForTest(t, root, "CentOS-7.9.2009")
	want, err := pipeline.Fingerprints(cfg, providers.All, "1.9.4")
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range p.Jobs {
		for _, name := range j.Providers {
			if j.Fingerprints[name] != want[name] {
				t.Errorf("job %s: %s fingerprint %s, the build's is %s", j.ID, name, j.Fingerprints[name], want[name])
			}
		}
	}
}

func TestTheCacheKeyChangesWhenAnInputChangesAndNotOtherwise(t *testing.T) {
	tests := []struct {
		name    string
		change  func(t *testing.T, root string) (vars map[string]string, packer string)
		changes bool
	}{
		{"nothing", func(t *testing.T, root string) (map[string]string, string) { return nil, "" }, false},
		{"a file's time only", func(t *testing.T, root string) (map[string]string, string) {
			future := time.Now().Add(time.Hour)
			if err := os.Chtimes(filepath.Join(root, "ansible/site.yml"), future, future); err != nil {
				t.Fatal(err)
			}
			return nil, ""
		}, false},
		{"a file that is no build input", func(t *testing.T, root string) (map[string]string, string) {
			writeFiles(t, root, map[string]string{"README.md": "changed\n", "docs/ci.md": "new\n"})
			return nil, ""
		}, false},
		{"a site setting that does not change the image", func(t *testing.T, root string) (map[string]string, string) {
			writeFiles(t, root, map[string]string{"templates/site.json": `{"registry": "registry.example:5000", "aws": {"bucket": "b"}}`})
			return nil, ""
		}, false},
		{"ONLY leaves the jobs it keeps alone", func(t *testing.T, root string) (map[string]string, string) {
			return map[string]string{"ONLY": "aws,virtualbox,azure,docker,gcp,openstack"}, ""
		}, false},
		{"a playbook", func(t *testing.T, root string) (map[string]string, string) {
			writeFiles(t, root, map[string]string{"ansible/roles/base/tasks/main.yml": "- name: base, changed\n"})
			return nil, ""
		}, true},
		{"a new kickstart build definition", func(t *testing.T, root string) (map[string]string, string) {
			writeFiles(t, root, map[string]string{"http/builds/virtual/gcp": "disk = vda\n"})
			return nil, ""
		}, true},
		{"a Packer template", func(t *testing.T, root string) (map[string]string, string) {
			writeFiles(t, root, map[string]string{"templates/packer/build.pkr.hcl": "build { name = \"x\" }\n"})
			return nil, ""
		}, true},
		{"the vagrant key", func(t *testing.T, root string) (map[string]string, string) {
			writeFiles(t, root, map[string]string{"keys/vagrant.pub": "ssh-ed25519 BBBB vagrant\n"})
			return nil, ""
		}, true},
		{"the OS definition", func(t *testing.T, root string) (map[string]string, string) {
			path := filepath.Join(root, "templates/os/CentOS-7.9.2009.json")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			writeFiles(t, root, map[string]string{"templates/os/CentOS-7.9.2009.json": string(data) + "\n"})
			return nil, ""
		}, true},
		{"the disk size", func(t *testing.T, root string) (map[string]string, string) {
			writeFiles(t, root, map[string]string{"templates/site.json": `{"disk_size": 40960}`})
			return nil, ""
		}, true},
		{"VERSION", func(t *testing.T, root string) (map[string]string, string) {
			return map[string]string{"VERSION": "2.0.0"}, ""
		}, true},
		{"the Packer version", func(t *testing.T, root string) (map[string]string, string) { return nil, "1.9.3" }, true},
	}
	before := keysByID(t, mustMake(t, fixtureRoot(t), []string{"CentOS-7.9.2009"}, nil))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fixtureRoot(t)
			vars, packerVersion := tt.change(t, root)
			if packerVersion == "" {
				packerVersion = "1.9.4"
			}
			p, err := Make(context.Background(), root, []string{"CentOS-7.9.2009"}, env(vars), Options{PackerVersion: packerVersion})
			if err != nil {
				t.Fatal(err)
			}
			after := keysByID(t, p)
			for id, key := range after {
				if changed := key != before[id]; changed != tt.changes {
					t.Errorf("job %s: key changed = %v, want %v\nbefore %s\nafter  %s", id, changed, tt.changes, before[id], key)
				}
			}
		})
	}
}

// TestTheCacheKeysFollowTheRootPasswordAndStayAcrossRuns: mage plan run
// again on one site gives the same cache keys with a root password (a
// random salt each run), and other keys once the password changes.
func TestTheCacheKeysFollowTheRootPasswordAndStayAcrossRuns(t *testing.T) {
	root := fixtureRoot(t)
	withPassword := func(pw string) map[string]string {
		site := filepath.Join(root, "templates/site.json")
		writeFiles(t, root, map[string]string{"templates/site.json": `{"root_pass": "` + pw + `"}`})
		if err := os.Chmod(site, 0o600); err != nil {
			t.Fatal(err)
		}
		return keysByID(t, mustMake(t, root, []string{"CentOS-7.9.2009"}, nil))
	}
	first, again, other := withPassword("correct horse"), withPassword("correct horse"), withPassword("battery staple")
	for id, key := range first {
		if again[id] != key {
			t.Errorf("job %s: the next run's key %s, want %s", id, again[id], key)
		}
		if other[id] == key {
			t.Errorf("job %s: the same key %s with another root password", id, key)
		}
	}
}

func loadForTest(t *testing.T, root, vmName string) *config.Config {
	t.Helper()
	cfg, err := config.Load(root, vmName, env(nil), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func keysByID(t *testing.T, p Plan) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, j := range p.Jobs {
		out[j.ID] = j.CacheKey
	}
	if len(out) == 0 {
		t.Fatal("no job planned")
	}
	return out
}

func TestNoTwoJobsWriteTheSameFolder(t *testing.T) {
	p := mustMake(t, fixtureRoot(t), nil, nil)
	if err := p.Check(); err != nil {
		t.Fatalf("the shipped plan fails its check: %v", err)
	}
	folders := map[string]string{}
	for _, j := range p.Jobs {
		for _, f := range j.Folders {
			if other, ok := folders[f]; ok {
				t.Errorf("jobs %s and %s both write %s", other, j.ID, f)
			}
			folders[f] = j.ID
		}
	}

	tests := []struct {
		name   string
		break_ func(p *Plan)
		want   string
	}{
		{"two jobs share a folder", func(p *Plan) {
			p.Jobs[1].Folders[0] = p.Jobs[0].Folders[0]
			p.Jobs[1].Providers[0] = p.Jobs[0].Providers[0]
		}, "both write"},
		{"a job writes a folder of another provider", func(p *Plan) { p.Jobs[0].Folders[0] = p.Jobs[1].Folders[0] }, "want"},
		{"two jobs share a cache key", func(p *Plan) { p.Jobs[1].CacheKey = p.Jobs[0].CacheKey }, "share the cache key"},
		{"two jobs share a name", func(p *Plan) { p.Jobs[1].ID = p.Jobs[0].ID }, "two jobs are called"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broken := mustMake(t, fixtureRoot(t), []string{"CentOS-7.9.2009"}, nil)
			tt.break_(&broken)
			err := broken.Check()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check() = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

func TestEveryBuilderHasARunner(t *testing.T) {
	for _, p := range providers.All {
		c, ok := Capabilities[p.Builder]
		if !ok {
			t.Errorf("provider %s: builder %s has no capability in Capabilities", p.Name, p.Builder)
			continue
		}
		if len(RunsOn[c]) == 0 {
			t.Errorf("capability %s has no runner labels in RunsOn", c)
		}
	}
}

func TestReadingAPlanThatFailsItsCheckNamesTheFile(t *testing.T) {
	p := mustMake(t, fixtureRoot(t), []string{"CentOS-7.9.2009"}, nil)
	p.Jobs[1].ID = p.Jobs[0].ID
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Read(path)
	if want := fmt.Sprintf("reading the plan %q: checking the plan: two jobs are called", path); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Read = %v, want an error starting %q", err, want)
	}
}
