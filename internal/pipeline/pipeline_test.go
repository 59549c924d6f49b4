package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/tree"
)

// fakePacker is the stand-in Packer built from testdata/fakepacker.
var fakePacker string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fakepacker")
	if err != nil {
		panic(err)
	}
	fakePacker = filepath.Join(dir, "packer")
	build := exec.Command("go", "build", "-o", fakePacker, "./testdata/fakepacker")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the stand-in Packer:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const vmName = "CentOS-7.9.2009"

// fixture is a repository with one OS definition, the build inputs and the
// host tools as stand-ins, and recording Deps.
type fixture struct {
	t    testing.TB
	root string
	rec  string // where the stand-in Packer records its runs
	env  map[string]string
	out  bytes.Buffer

	mu          sync.Mutex
	fetched     int
	ksStarted   int
	ksStopped   int
	ksFor       [][]string // providers each kickstart server start was for
	converted   [][]string
	checksummed int
	catalogued  []string   // artifacts folder of each catalog run
	inspected   [][]string // providers of each inspect run
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, root: t.TempDir(), rec: t.TempDir()}
	def, err := os.ReadFile(filepath.Join("..", "..", "templates", "os", vmName+".json"))
	if err != nil {
		t.Fatal(err)
	}
	f.write("templates/os/"+vmName+".json", string(def))
	f.write("keys/packer", "private key")
	f.write("keys/packer.pub", "ssh-ed25519 AAAA packer")
	f.write("keys/vagrant.pub", "ssh-ed25519 AAAA vagrant")
	f.write("http/templates/rhel7.ks", "install\n")
	f.write("ansible/site.yml", "- hosts: all\n")
	f.write("scripts/zero.sh", "#!/bin/sh\n")
	f.write("templates/packer/build.pkr.hcl", "build {}\n")
	bin := t.TempDir()
	for _, tool := range []string{"ansible-playbook", "qemu-system-x86_64", "qemu-img", "VBoxManage", "vmrun", "ovftool", "guestfish", "gpg", "gpgv"} {
		if err := os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f.env = map[string]string{"PATH": bin}
	return f
}

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	path := filepath.Join(f.root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) config() *config.Config {
	f.t.Helper()
	cfg, err := config.Load(f.root, vmName, func(k string) string { return f.env[k] }, config.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	return cfg
}

func (f *fixture) deps() Deps {
	return Deps{
		PackerPath: func(context.Context) (string, string, error) { return fakePacker, "1.9.4", nil },
		FetchISO: func(context.Context) (string, string, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.fetched++
			return filepath.Join(f.root, "isos", "CentOS-7-x86_64-Minimal-2009.iso"), "07B94E6B1A0B0260B94C83D6BB76B26BF7A310DC78D7A9C7432809FB9BC6194A", nil
		},
		StartKickstart: func(_ context.Context, ps []providers.Provider) (int, func(), error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.ksStarted++
			f.ksFor = append(f.ksFor, providers.Names(ps))
			return 8123, func() { f.mu.Lock(); f.ksStopped++; f.mu.Unlock() }, nil
		},
		GuestKickstartURL: func(b providers.Builder, port int) string {
			return fmt.Sprintf("http://guest-of-%s:%d", b, port)
		},
		Convert: func(_ context.Context, ps []providers.Provider) ([]tree.Artifact, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.converted = append(f.converted, providers.Names(ps))
			var arts []tree.Artifact
			for _, p := range ps {
				arts = append(arts, tree.Artifact{Provider: p.Name, Kind: tree.Disk, Path: "artifacts/" + p.Name})
			}
			return arts, nil
		},
		Checksum: func(context.Context, []tree.Artifact) error { f.checksummed++; return nil },
		Catalog:  func(_ context.Context, dir string) error { f.catalogued = append(f.catalogued, dir); return nil },
		Inspect: func(_ context.Context, ps []providers.Provider) error {
			f.inspected = append(f.inspected, providers.Names(ps))
			return nil
		},
	}
}

// build runs Build with the stand-in Packer, the fixture's environment and
// the FAKE_PACKER_* settings in fake.
func (f *fixture) build(ctx context.Context, fake ...string) ([]Result, error) {
	f.t.Helper()
	f.out.Reset()
	opts := Options{
		Out:       &f.out,
		Getenv:    func(k string) string { return f.env[k] },
		Env:       append([]string{"FAKE_PACKER_REC=" + f.rec}, fake...),
		Grace:     10 * time.Second,
		KVMDevice: filepath.Join(f.root, "no-kvm"),
	}
	results, err := Build(ctx, f.config(), f.deps(), opts)
	f.t.Logf("output of the build:\n%s", f.out.String())
	return results, err
}

// ran lists the providers the stand-in Packer was run for, sorted.
func (f *fixture) ran() []string {
	entries, _ := os.ReadDir(f.rec)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func (f *fixture) recorded(provider, name string) string {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(f.rec, provider, name))
	if err != nil {
		f.t.Fatalf("the stand-in Packer did not record %s for %s: %v", name, provider, err)
	}
	return string(data)
}

func (f *fixture) recordedTime(provider, name string) int64 {
	f.t.Helper()
	n, err := strconv.ParseInt(f.recorded(provider, name), 10, 64)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) outputDir(provider string) string {
	return filepath.Join(f.root, ".cache", "packer-output", "1.0.0", vmName, provider)
}

// resetRecords forgets what the stand-in recorded, for the next run.
func (f *fixture) resetRecords() {
	os.RemoveAll(f.rec)
	os.MkdirAll(f.rec, 0o755)
}

func statuses(results []Result) map[string]Status {
	m := map[string]Status{}
	for _, r := range results {
		m[r.Provider] = r.Status
	}
	return m
}

func TestBuildRunsTheGroupsOneAfterTheOtherAndTheBuildsOfAGroupTogether(t *testing.T) {
	f := newFixture(t)
	groups := providers.Groups(providers.All)
	var barrier, headings []string // the builds of each group meet at a barrier
	for i, g := range groups {
		barrier = append(barrier, strings.Join(providers.Names(g), ","))
		headings = append(headings, fmt.Sprintf(">> packer group %d (%s)", i+1, strings.Join(providers.Names(g), ", ")))
	}
	results, err := f.build(context.Background(), "FAKE_PACKER_BARRIER="+strings.Join(barrier, ";"))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	for p, s := range statuses(results) {
		if s != OK {
			t.Errorf("%s: status %q, want ok", p, s)
		}
	}
	var lastEnd1, firstStart2 int64
	for _, p := range groups[0] {
		lastEnd1 = max(lastEnd1, f.recordedTime(p.Name, "end"))
	}
	for i, p := range groups[1] {
		if s := f.recordedTime(p.Name, "start"); i == 0 || s < firstStart2 {
			firstStart2 = s
		}
	}
	if lastEnd1 > firstStart2 {
		t.Errorf("group 2 started (%d) before group 1 ended (%d)", firstStart2, lastEnd1)
	}
	if want := [][]string{providers.Names(providers.All)}; !equalLists(f.converted, want) {
		t.Errorf("converted %v, want %v", f.converted, want)
	}
	if f.fetched != 1 || f.ksStarted != 1 || f.ksStopped != 1 || f.checksummed != 1 || len(f.catalogued) != 1 {
		t.Errorf("iso fetched %d, kickstart started %d stopped %d, checksums %d, catalog %d times; want 1 each",
			f.fetched, f.ksStarted, f.ksStopped, f.checksummed, len(f.catalogued))
	}
	if want := [][]string{providers.Names(providers.All)}; !equalLists(f.ksFor, want) {
		t.Errorf("kickstart server started for %v, want %v", f.ksFor, want)
	}
	if want := []string{filepath.Join(f.root, "artifacts")}; !slices.Equal(f.catalogued, want) {
		t.Errorf("catalog written for %v, want %v", f.catalogued, want)
	}
	if want := [][]string{providers.Names(providers.All)}; !equalLists(f.inspected, want) {
		t.Errorf("inspected %v, want %v", f.inspected, want)
	}
	for _, want := range append(headings, ">> summary", "logs/1.0.0/"+vmName+"/gcp.log") {
		if !strings.Contains(f.out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	log, err := os.ReadFile(filepath.Join(f.root, "logs", "1.0.0", vmName, "vmware.log"))
	if err != nil || !strings.Contains(string(log), "==> vmware: done") {
		t.Errorf("vmware's log does not hold its Packer output: %v\n%s", err, log)
	}
}

func equalLists(a, b [][]string) bool {
	return slices.EqualFunc(a, b, slices.Equal[[]string])
}

func TestBuildPassesTheVariablesAndArgumentsToPacker(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp,virtualbox"
	if _, err := f.build(context.Background()); err != nil {
		t.Fatalf("Build: %v", err)
	}
	if got := f.ran(); !slices.Equal(got, []string{"gcp", "virtualbox"}) {
		t.Fatalf("Packer ran for %v, want [gcp virtualbox]", got)
	}
	for _, tc := range []struct {
		provider, source string
		builder          providers.Builder
	}{
		{"gcp", "qemu.gcp", providers.QEMU},
		{"virtualbox", "virtualbox-iso.virtualbox", providers.VirtualBox},
	} {
		varFile := filepath.Join(f.root, ".cache", "packer-vars", "1.0.0", vmName, tc.provider+".json")
		wantArgs := []string{"build", "-color=false", "-timestamp-ui", "-only=" + tc.source, "-var-file=" + varFile, "templates/packer"}
		if got := strings.Split(strings.TrimSpace(f.recorded(tc.provider, "args")), "\n"); !slices.Equal(got, wantArgs) {
			t.Errorf("%s: arguments %q, want %q", tc.provider, got, wantArgs)
		}
		var vars map[string]any
		if err := json.Unmarshal([]byte(f.recorded(tc.provider, "vars.json")), &vars); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"vm_name":                 vmName,
			"version":                 "1.0.0",
			"os_version":              "7.9.2009",
			"repo_server":             "https://vault.centos.org",
			"iso_path":                filepath.Join(f.root, "isos", "CentOS-7-x86_64-Minimal-2009.iso"),
			"iso_checksum":            "sha256:07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a",
			"ks_port":                 float64(8123),
			"ks_base_url":             fmt.Sprintf("http://guest-of-%s:8123", tc.builder),
			"headless":                true,
			"disk_size":               float64(20480),
			"ssh_timeout":             "60m",
			"ssh_private_key_file":    filepath.Join(f.root, "keys", "packer"),
			"vagrant_public_key_file": filepath.Join(f.root, "keys", "vagrant.pub"),
			"output_root":             filepath.Join(f.root, ".cache", "packer-output", "1.0.0", vmName),
			"repo_root":               f.root,
			"accelerator":             "tcg",
			"cpus":                    float64(2),
			"memory":                  float64(2048),
			"firmware":                "bios",
			"boot_menu":               "isolinux",
			"vmware_guest_os_type":    "centos7-64",

			"virtualbox_nat_localhost": true,
			"gcp_guest_repo":           "https://packages.cloud.google.com/yum",
			"ks_path":                  "/ks",
			"namespace":                "gold",
			"ks_server":                "",
		}
		for k, w := range want {
			if vars[k] != w {
				t.Errorf("%s: variable %s = %#v, want %#v", tc.provider, k, vars[k], w)
			}
		}
		objects := map[string]any{
			"os_definition": map[string]any{"vm_name": vmName, "os_name": "CentOS", "os_version": "7.9.2009", "iso": "CentOS-7-x86_64-Minimal-2009",
				"iso_checksum": "07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a", "iso_server": "https://vault.centos.org", "repo_server": "https://vault.centos.org"},
			"guest": map[string]any{"cloud_init_disable_root": true, "azure_agent_swap": true, "gcp_network_ipv6": true, "gcp_ssh_client_config": false},
		}
		for k, w := range objects {
			if !reflect.DeepEqual(vars[k], w) {
				t.Errorf("%s: variable %s = %#v, want %#v", tc.provider, k, vars[k], w)
			}
		}
		if len(vars) != len(want)+len(objects) {
			t.Errorf("%s: %d variables, want %d: %v", tc.provider, len(vars), len(want)+len(objects), vars)
		}
		if env := f.recorded(tc.provider, "env"); !strings.Contains(env, "CHECKPOINT_DISABLE=1\n") {
			t.Errorf("%s: Packer's environment lacks CHECKPOINT_DISABLE=1", tc.provider)
		}
	}
}

func TestBuildUsesTheSitesKickstartServerAndTheAcceleratorTheUserChose(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "openstack"
	f.env["QEMU_ACCELERATOR"] = "kvm"
	f.write("templates/site.json", `{"ks_server": "http://ks.example.org:8080"}`)
	// A file that is no KVM device: only QEMU_ACCELERATOR can choose kvm.
	kvm := filepath.Join(f.root, "kvm")
	f.write("kvm", "")
	opts := Options{Out: &f.out, Getenv: func(k string) string { return f.env[k] }, Env: []string{"FAKE_PACKER_REC=" + f.rec}, KVMDevice: kvm}
	if _, err := Build(context.Background(), f.config(), f.deps(), opts); err != nil {
		t.Fatalf("Build: %v\n%s", err, f.out.String())
	}
	if f.ksStarted != 0 {
		t.Errorf("the in-process kickstart server started although the site names ks_server")
	}
	vars := f.recorded("openstack", "vars.json")
	// ks.php: the path the original's PHP server answers, and ours too.
	for _, want := range []string{`"ks_base_url": "http://ks.example.org:8080"`, `"ks_port": 0`, `"ks_path": "/ks.php"`, `"ks_server": "http://ks.example.org:8080"`, `"accelerator": "kvm"`} {
		if !strings.Contains(vars, want) {
			t.Errorf("variables lack %s:\n%s", want, vars)
		}
	}
	if want := "note: KVM: not probed, QEMU_ACCELERATOR=kvm"; !strings.Contains(f.out.String(), want) {
		t.Errorf("the preflight does not say %q:\n%s", want, f.out.String())
	}
}

// TestTheOriginalsLoopbackKickstartServerIsReachedThroughTheGuestsNAT: the
// original's own ks_server, http://localhost:8080/, names a server on this
// host; the guests reach it as they reach the in-process one (the guest
// address of the builder, on its port), at ks.php.
func TestTheOriginalsLoopbackKickstartServerIsReachedThroughTheGuestsNAT(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "openstack"
	f.write("templates/site.json", `{"ks_server": "http://localhost:8080/"}`)
	if _, err := Build(context.Background(), f.config(), f.deps(), Options{Out: &f.out, Getenv: func(k string) string { return f.env[k] }, Env: []string{"FAKE_PACKER_REC=" + f.rec}}); err != nil {
		t.Fatalf("Build: %v\n%s", err, f.out.String())
	}
	if f.ksStarted != 0 {
		t.Errorf("the in-process kickstart server started although the site names ks_server")
	}
	vars := f.recorded("openstack", "vars.json")
	for _, want := range []string{`"ks_base_url": "http://guest-of-qemu:8080"`, `"ks_port": 8080`, `"ks_path": "/ks.php"`, `"ks_server": "http://localhost:8080/"`} {
		if !strings.Contains(vars, want) {
			t.Errorf("variables lack %s:\n%s", want, vars)
		}
	}
}

func TestBuildWithoutUsableKVMUsesTCGAndSaysWhy(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp"
	kvm := filepath.Join(f.root, "kvm")
	f.write("kvm", "") // opens, but is no KVM device: the probe must not take it
	opts := Options{Out: &f.out, Getenv: func(k string) string { return f.env[k] }, Env: []string{"FAKE_PACKER_REC=" + f.rec}, KVMDevice: kvm}
	if _, err := Build(context.Background(), f.config(), f.deps(), opts); err != nil {
		t.Fatalf("Build: %v\n%s", err, f.out.String())
	}
	if vars := f.recorded("gcp", "vars.json"); !strings.Contains(vars, `"accelerator": "tcg"`) {
		t.Errorf("variables lack the tcg accelerator:\n%s", vars)
	}
	if want := "note: KVM: " + kvm + " present but not a KVM device"; !strings.Contains(f.out.String(), want) {
		t.Errorf("the preflight does not say %q:\n%s", want, f.out.String())
	}
}

func TestBuildRejectsAnUnknownAcceleratorNamingTheVariable(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp"
	f.env["QEMU_ACCELERATOR"] = "whpx"
	_, err := f.build(context.Background())
	if err == nil || !strings.Contains(err.Error(), `QEMU_ACCELERATOR="whpx": want kvm or tcg`) {
		t.Fatalf("error %v, want one naming QEMU_ACCELERATOR", err)
	}
	if ran := f.ran(); len(ran) != 0 {
		t.Errorf("Packer ran for %v", ran)
	}
}

func TestOnlyAndExceptChooseTheBuilds(t *testing.T) {
	// "except some" leaves the first build of each group, naming the others
	// out of build order.
	var firsts, others []string
	for _, g := range providers.Groups(providers.All) {
		firsts, others = append(firsts, g[0].Name), append(others, providers.Names(g[1:])...)
	}
	slices.Reverse(others)
	for _, tc := range []struct {
		name, only, except string
		want               []string
		wantErr            string
	}{
		{name: "only one", only: "aws", want: []string{"aws"}},
		{name: "only two across groups", only: "docker,Virtualbox", want: []string{"docker", "virtualbox"}},
		{name: "except some", except: strings.Join(others, ","), want: slices.Sorted(slices.Values(firsts))},
		{name: "only and except", only: "gcp,aws", except: "aws", want: []string{"gcp"}},
		{name: "unknown name", only: "aws,hyperv", wantErr: `unknown provider(s) "hyperv"`},
		{name: "nothing left", only: "aws", except: "aws", wantErr: "leave no provider to build"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.env["ONLY"], f.env["EXCEPT"] = tc.only, tc.except
			results, err := f.build(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if len(f.ran()) != 0 {
					t.Errorf("Packer ran for %v despite the error", f.ran())
				}
				return
			}
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if got := f.ran(); !slices.Equal(got, tc.want) {
				t.Errorf("Packer ran for %v, want %v", got, tc.want)
			}
			if len(f.ksFor) != 1 || !slices.Equal(slices.Sorted(slices.Values(f.ksFor[0])), tc.want) {
				t.Errorf("kickstart server started for %v, want once for %v", f.ksFor, tc.want)
			}
			if len(results) != len(tc.want) {
				t.Errorf("%d results, want %d", len(results), len(tc.want))
			}
		})
	}
}

func TestAFailedBuildKeepsTheOthersAndIsNamed(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "aws,gcp,openstack"
	results, err := f.build(context.Background(), "FAKE_PACKER_FAIL=gcp")
	if err == nil || !strings.Contains(err.Error(), "packer build failed for gcp") {
		t.Fatalf("error %v, want one naming gcp", err)
	}
	if got, want := statuses(results), map[string]Status{"aws": OK, "gcp": Failed, "openstack": OK}; !equalMaps(got, want) {
		t.Errorf("results %v, want %v", got, want)
	}
	if _, err := os.Stat(f.outputDir("gcp")); !os.IsNotExist(err) {
		t.Errorf("the failed build's output folder is still there (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(f.outputDir("openstack"), vmName+".disk")); err != nil {
		t.Errorf("openstack's output is gone: %v", err)
	}
	if want := [][]string{{"aws", "openstack"}}; !equalLists(f.converted, want) {
		t.Errorf("converted %v, want %v", f.converted, want)
	}
	summary := f.out.String()[strings.Index(f.out.String(), ">> summary"):]
	for _, want := range []string{"gcp", "failed", "logs/1.0.0/" + vmName + "/gcp.log", "told to fail"} {
		if !strings.Contains(f.out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !strings.Contains(summary, "failed") {
		t.Errorf("summary does not show the failure:\n%s", summary)
	}

	// The next run rebuilds the failed provider only.
	f.resetRecords()
	if _, err := f.build(context.Background()); err != nil {
		t.Fatalf("second Build: %v", err)
	}
	if got := f.ran(); !slices.Equal(got, []string{"gcp"}) {
		t.Errorf("second run built %v, want only the failed gcp", got)
	}
}

func equalMaps(a, b map[string]Status) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAnUnchangedBuildIsSkippedUntilItsInputsOrOutputChangeOrFORCE(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp,vmware"
	if _, err := f.build(context.Background()); err != nil {
		t.Fatalf("first Build: %v", err)
	}
	steps := []struct {
		name   string
		change func()
		want   []string // providers Packer runs for
	}{
		{"nothing changed", func() {}, nil},
		{"FORCE=1", func() { f.env["FORCE"] = "1" }, []string{"gcp", "vmware"}},
		{"FORCE=0 again", func() { f.env["FORCE"] = "0" }, nil},
		{"an Ansible file changed", func() { f.write("ansible/site.yml", "- hosts: all\n  become: true\n") }, []string{"gcp", "vmware"}},
		{"a kickstart template added", func() { f.write("http/builds/virtual/new.json", "{}") }, []string{"gcp", "vmware"}},
		{"the site settings changed", func() { f.write("templates/site.json", `{"disk_size": 40960}`) }, []string{"gcp", "vmware"}},
		{"only upload settings changed", func() { f.write("templates/site.json", `{"disk_size": 40960, "registry": "localhost:5000"}`) }, nil},
		{"one output was deleted", func() { os.RemoveAll(f.outputDir("vmware")) }, []string{"vmware"}},
		{"one output was truncated", func() { f.write(filepath.Join(".cache/packer-output/1.0.0", vmName, "gcp", vmName+".disk"), "") }, []string{"gcp"}},
	}
	for _, s := range steps {
		s.change()
		f.resetRecords()
		before := f.fetched
		results, err := f.build(context.Background())
		if err != nil {
			t.Fatalf("%s: Build: %v", s.name, err)
		}
		if got := f.ran(); !slices.Equal(got, s.want) {
			t.Errorf("%s: Packer ran for %v, want %v", s.name, got, s.want)
		}
		for _, r := range results {
			if want := slices.Contains(s.want, r.Provider); want != (r.Status == OK) || !want && r.Status != UpToDate {
				t.Errorf("%s: %s is %q", s.name, r.Provider, r.Status)
			}
		}
		if fetchedNow := f.fetched > before; fetchedNow != (len(s.want) > 0) {
			t.Errorf("%s: ISO fetched: %v, want %v", s.name, fetchedNow, len(s.want) > 0)
		}
		if len(s.want) == 0 && !strings.Contains(f.out.String(), ">> iso: CentOS-7-x86_64-Minimal-2009.iso: every build is up to date, skipped") {
			t.Errorf("%s: output does not say the ISO was skipped", s.name)
		}
	}
	if got := f.converted; len(got) != len(steps)+1 {
		t.Errorf("convert ran %d times, want every run (%d): up-to-date builds are still converted", len(got), len(steps)+1)
	}
}

func TestFORCEMustBeABoolean(t *testing.T) {
	f := newFixture(t)
	f.env["FORCE"] = "please"
	_, err := f.build(context.Background())
	if err == nil || !strings.Contains(err.Error(), `FORCE="please"`) {
		t.Fatalf("error %v, want one quoting FORCE", err)
	}
}

func TestPreflightReportsEveryMissingToolWithTheProvidersThatNeedIt(t *testing.T) {
	f := newFixture(t)
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "ansible-playbook"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A non-executable file does not count.
	if err := os.WriteFile(filepath.Join(bin, "vmrun"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.env["PATH"] = bin + string(os.PathListSeparator) + t.TempDir()
	os.Remove(filepath.Join(f.root, "keys", "vagrant.pub"))
	_, err := f.build(context.Background())
	if err == nil {
		t.Fatal("Build succeeded without the host tools")
	}
	needing := func(needs func(providers.Provider) bool) string {
		return strings.Join(providers.Names(slices.DeleteFunc(slices.Clone(providers.All), func(p providers.Provider) bool { return !needs(p) })), ", ")
	}
	builds := func(b providers.Builder) func(providers.Provider) bool {
		return func(p providers.Provider) bool { return p.Builder == b }
	}
	for _, want := range []string{
		"VBoxManage (needed by " + needing(builds(providers.VirtualBox)) + ")",
		"vmrun (needed by " + needing(builds(providers.VMware)) + ")",
		"qemu-system-x86_64 (needed by " + needing(builds(providers.QEMU)) + "): apt-get install qemu-system-x86",
		"qemu-img (needed by " + needing(func(p providers.Provider) bool { return p.Builder == providers.QEMU || readsDisk(p) }) + "): apt-get install qemu-utils",
		"guestfish (needed by " + needing(func(providers.Provider) bool { return true }) + "): apt-get install libguestfs-tools",
		"gpg (needed to check the ISO's signed sha256sum.txt.asc): apt-get install gnupg",
		"gpgv (needed to check the ISO's signed sha256sum.txt.asc)",
		"keys/vagrant.pub is missing: run `mage keys`",
		"EXCEPT=" + strings.Join(providers.Names(providers.All), ","),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "ansible-playbook") {
		t.Errorf("error names ansible-playbook, which is on PATH:\n%v", err)
	}
	if !strings.Contains(f.out.String(), "absent; using TCG, builds are slower") {
		t.Errorf("output does not warn that there is no KVM")
	}
	if len(f.ran()) != 0 || f.fetched != 0 {
		t.Errorf("the build went on after the preflight failed: Packer ran for %v, ISO fetched %d times", f.ran(), f.fetched)
	}
}

func TestPreflightOnlyChecksTheToolsOfTheChosenProviders(t *testing.T) {
	f := newFixture(t)
	bin := t.TempDir()
	for _, tool := range []string{"ansible-playbook", "qemu-system-x86_64", "qemu-img", "guestfish", "gpg", "gpgv"} {
		if err := os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f.env["PATH"] = bin
	var others []string // the builds that need VirtualBox or VMware
	for _, p := range providers.All {
		if p.Builder != providers.QEMU {
			others = append(others, p.Name)
		}
	}
	f.env["EXCEPT"] = strings.Join(others, ",")
	if _, err := f.build(context.Background()); err != nil {
		t.Fatalf("Build without VirtualBox and VMware tools but without those providers: %v", err)
	}
}

// TestQemuImgIsNeededByEveryConversionButAnOVAShippedAsBuiltWithItsOwnBox
// holds readsDisk on rows of every shape (made up: none is a provider).
func TestQemuImgIsNeededByEveryConversionButAnOVAShippedAsBuiltWithItsOwnBox(t *testing.T) {
	for _, tc := range []struct {
		name string
		row  providers.Provider
		want bool
	}{
		{"an OVA as built, its own Vagrant box", providers.Provider{Kind: providers.VagrantImage, Input: "ova", Artifact: "ova", Make: providers.AsBuilt}, false},
		{"an OVA as built with a debug box", providers.Provider{Kind: providers.Cloud, Input: "ova", Artifact: "ova", Make: providers.AsBuilt}, true},
		{"a qcow2 as built", providers.Provider{Kind: providers.Cloud, Input: "qcow2", Artifact: "qcow2", Make: providers.AsBuilt}, true},
		{"a qcow2 made a VHD", providers.Provider{Kind: providers.Cloud, Input: "qcow2", Artifact: "vhd", Make: providers.FixedVHD}, true},
		{"a VMware VM made an OVA", providers.Provider{Kind: providers.VSphere, Input: "vmx", Artifact: "ova", Make: providers.VMwareOVA}, true},
	} {
		if got := readsDisk(tc.row); got != tc.want {
			t.Errorf("%s: readsDisk %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCancellingStopsPackerWithSIGINTAndRemovesItsOutput(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp,openstack,vmware"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type outcome struct {
		results []Result
		err     error
	}
	done := make(chan outcome, 1)
	go func() {
		r, err := f.build(ctx, "FAKE_PACKER_SLEEP=10m")
		done <- outcome{r, err}
	}()
	// Wait until every build sleeps (its partial output written), then cancel.
	deadline := time.After(60 * time.Second)
	for {
		n := 0
		for _, p := range []string{"gcp", "openstack", "vmware"} {
			if _, err := os.Stat(filepath.Join(f.outputDir(p), "partial.vmdk")); err == nil {
				n++
			}
		}
		if n == 3 {
			break
		}
		select {
		case <-deadline:
			t.Fatal("the builds did not start")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	var o outcome
	select {
	case o = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Build did not return after cancellation")
	}
	if !errors.Is(o.err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", o.err)
	}
	for _, p := range []string{"gcp", "openstack", "vmware"} {
		if sig := f.recorded(p, "signal"); sig != "interrupt" {
			t.Errorf("%s: Packer got signal %q, want interrupt", p, sig)
		}
		if _, err := os.Stat(f.outputDir(p)); !os.IsNotExist(err) {
			t.Errorf("%s: the output folder is still there after cancellation (%v)", p, err)
		}
	}
	for p, s := range statuses(o.results) {
		if s != Cancelled {
			t.Errorf("%s: status %q, want cancelled", p, s)
		}
	}
	if len(f.converted) != 0 || f.ksStopped != f.ksStarted {
		t.Errorf("after cancellation: converted %v, kickstart started %d stopped %d", f.converted, f.ksStarted, f.ksStopped)
	}
}

func TestMissingDepsAreReportedTogether(t *testing.T) {
	f := newFixture(t)
	deps := f.deps()
	deps.Convert, deps.Catalog = nil, nil
	_, err := Build(context.Background(), f.config(), deps, Options{Out: &f.out, Getenv: func(k string) string { return f.env[k] }})
	if err == nil || !strings.Contains(err.Error(), "Deps Catalog, Convert not set") {
		t.Fatalf("error %v, want one naming Catalog and Convert", err)
	}
}

func TestVerboseShowsPackersOutputPrefixedByProvider(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp,openstack"
	opts := Options{Out: &f.out, Verbose: true, Getenv: func(k string) string { return f.env[k] }, Env: []string{"FAKE_PACKER_REC=" + f.rec}}
	if _, err := Build(context.Background(), f.config(), f.deps(), opts); err != nil {
		t.Fatalf("Build: %v\n%s", err, f.out.String())
	}
	for _, want := range []string{"gcp | ==> gcp: building " + vmName + "\n", "openstack | ==> openstack: done\n"} {
		if !strings.Contains(f.out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, f.out.String())
		}
	}
}

// BenchmarkFingerprints measures the up-to-date check's hashing of the
// build inputs: 400 files of 16 KiB (about the size of the Ansible roles,
// kickstart templates, scripts and Packer templates together, many times over).
func BenchmarkFingerprints(b *testing.B) {
	f := &fixture{t: b, root: b.TempDir()}
	def, err := os.ReadFile(filepath.Join("..", "..", "templates", "os", vmName+".json"))
	if err != nil {
		b.Fatal(err)
	}
	f.write("templates/os/"+vmName+".json", string(def))
	content := strings.Repeat("- name: a task\n", 16384/15)
	for i := range 400 {
		f.write(filepath.Join(InputDirs[i%len(InputDirs)], fmt.Sprintf("d%d/f%d.yml", i%7, i)), content)
	}
	cfg, err := config.Load(f.root, vmName, func(string) string { return "" }, config.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(400 * int64(len(content)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := fingerprints(cfg, providers.All, "1.9.4"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAPackerBuildPastItsBoundIsStoppedNamingItsLogAndRemovesItsOutput(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp"
	f.env["PACKER_TIMEOUT"] = "3s"
	results, err := f.build(context.Background(), "FAKE_PACKER_SLEEP=10m")
	if err == nil {
		t.Fatal("Build succeeded, want the hung build to fail")
	}
	if s := statuses(results)["gcp"]; s != Failed {
		t.Errorf("gcp status %v, want Failed", s)
	}
	log := filepath.Join("logs", "1.0.0", vmName, "gcp.log")
	for _, want := range []string{"did not finish within 3s", log, "QEMU_ACCELERATOR=tcg"} {
		if !strings.Contains(results[0].Err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, results[0].Err)
		}
	}
	if sig := f.recorded("gcp", "signal"); sig != "interrupt" {
		t.Errorf("Packer got signal %q, want interrupt", sig)
	}
	if _, err := os.Stat(f.outputDir("gcp")); !os.IsNotExist(err) {
		t.Errorf("the output folder is still there after the timeout (%v)", err)
	}
}

func TestPackerBoundFollowsSSHTimeoutAndTheAccelerator(t *testing.T) {
	cfg := &config.Config{Site: config.Site{SSHTimeout: "60m"}}
	for _, tc := range []struct {
		accel string
		set   time.Duration
		want  time.Duration
	}{
		{"kvm", 0, 2 * time.Hour},
		{"tcg", 0, 4 * time.Hour},
		{"tcg", 90 * time.Minute, 90 * time.Minute},
	} {
		b := &build{cfg: cfg, accelerator: tc.accel, packerTimeout: tc.set}
		if got := b.packerBound(); got != tc.want {
			t.Errorf("%s with PACKER_TIMEOUT %v: bound %v, want %v", tc.accel, tc.set, got, tc.want)
		}
	}
}

func TestABrokenInspectionFailsTheBuildAfterTheCatalogIsWritten(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp"
	deps := f.deps()
	deps.Inspect = func(context.Context, []providers.Provider) error {
		return errors.New(`gcp: rule "root locked": root's password field does not start with "!"`)
	}
	_, err := Build(context.Background(), f.config(), deps, Options{Out: &f.out, Getenv: func(k string) string { return f.env[k] }})
	if err == nil || !strings.Contains(err.Error(), `rule "root locked"`) {
		t.Fatalf("error %v, want the broken rule named", err)
	}
	if len(f.catalogued) != 1 || !strings.Contains(f.out.String(), ">> inspect: failed after") {
		t.Errorf("catalog written %d times, output:\n%s", len(f.catalogued), f.out.String())
	}
}

func TestTheRecordStepRunsBetweenConversionAndChecksumsAndItsFilesAreChecksummed(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp"
	deps := f.deps()
	var order []string
	var facts Facts
	convert := deps.Convert
	deps.Convert = func(ctx context.Context, ps []providers.Provider) ([]tree.Artifact, error) {
		order = append(order, "convert")
		return convert(ctx, ps)
	}
	deps.Record = func(_ context.Context, fa Facts, arts []tree.Artifact) ([]tree.Artifact, error) {
		order = append(order, "record")
		facts = fa
		return []tree.Artifact{{Provider: "gcp", Kind: tree.Record, Path: "artifacts/gcp/manifest.json"}}, nil
	}
	var checksummed []tree.Artifact
	deps.Checksum = func(_ context.Context, arts []tree.Artifact) error {
		order = append(order, "checksum")
		checksummed = arts
		return nil
	}
	opts := Options{Out: &f.out, Getenv: func(k string) string { return f.env[k] }, Env: []string{"FAKE_PACKER_REC=" + f.rec},
		Grace: 10 * time.Second, KVMDevice: filepath.Join(f.root, "no-kvm")}
	if _, err := Build(context.Background(), f.config(), deps, opts); err != nil {
		t.Fatalf("Build: %v\n%s", err, f.out.String())
	}
	if got := strings.Join(order, ","); got != "convert,record,checksum" {
		t.Errorf("steps ran in the order %s, want convert,record,checksum", got)
	}
	if len(checksummed) != 2 || checksummed[1].Kind != tree.Record {
		t.Errorf("checksummed %+v, want the disk and the record", checksummed)
	}
	if facts.PackerVersion != "1.9.4" || !strings.HasSuffix(facts.ISOPath, ".iso") || facts.ISOSHA256 == "" || facts.Started.IsZero() {
		t.Errorf("the record step was told %+v", facts)
	}
}

func TestAFailedRecordStillLeavesChecksumsAndCatalogAndFailsTheBuild(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp"
	deps := f.deps()
	deps.Record = func(context.Context, Facts, []tree.Artifact) ([]tree.Artifact, error) {
		return nil, errors.New("reading the packages of \"disk.qcow2\": no operating system")
	}
	opts := Options{Out: &f.out, Getenv: func(k string) string { return f.env[k] }, Env: []string{"FAKE_PACKER_REC=" + f.rec},
		Grace: 10 * time.Second, KVMDevice: filepath.Join(f.root, "no-kvm")}
	_, err := Build(context.Background(), f.config(), deps, opts)
	if err == nil || !strings.Contains(err.Error(), "no operating system") {
		t.Errorf("Build: %v, want the record's error", err)
	}
	if f.checksummed != 1 || len(f.catalogued) != 1 {
		t.Errorf("checksummed %d times, catalogued %d times; want both once", f.checksummed, len(f.catalogued))
	}
}

func TestHeadlessAndOnErrorFromTheEnvironmentReachPacker(t *testing.T) {
	cases := []struct {
		name, headless, onError string
		wantHeadless            bool
		wantFlag                string
	}{
		{"defaults", "", "", true, ""},
		{"HEADLESS=0 shows the console", "0", "", false, ""},
		{"PACKER_ON_ERROR=abort", "", "abort", true, "-on-error=abort"},
		{"PACKER_ON_ERROR=run-cleanup-provisioner", "1", "run-cleanup-provisioner", true, "-on-error=run-cleanup-provisioner"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.env["ONLY"] = "gcp"
			f.env["HEADLESS"] = tc.headless
			f.env["PACKER_ON_ERROR"] = tc.onError
			if _, err := f.build(context.Background()); err != nil {
				t.Fatalf("Build: %v", err)
			}
			var vars map[string]any
			if err := json.Unmarshal([]byte(f.recorded("gcp", "vars.json")), &vars); err != nil {
				t.Fatal(err)
			}
			if vars["headless"] != tc.wantHeadless {
				t.Errorf("headless = %v, want %v", vars["headless"], tc.wantHeadless)
			}
			args := strings.Split(strings.TrimSpace(f.recorded("gcp", "args")), "\n")
			if got := slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-on-error") }); got != (tc.wantFlag != "") || (tc.wantFlag != "" && !slices.Contains(args, tc.wantFlag)) {
				t.Errorf("arguments %q, want -on-error flag %q", args, tc.wantFlag)
			}
		})
	}
}

func TestABadPackerOnErrorIsRefusedNamingTheVariable(t *testing.T) {
	f := newFixture(t)
	f.env["PACKER_ON_ERROR"] = "retry"
	_, err := f.build(context.Background())
	if err == nil || !strings.Contains(err.Error(), `PACKER_ON_ERROR="retry"`) || !strings.Contains(err.Error(), "cleanup, abort, ask or run-cleanup-provisioner") {
		t.Errorf("err = %v, want one naming PACKER_ON_ERROR and its choices", err)
	}
}

// TestAFailedBuildsErrorQuotesPackersCause replays the log of a real failed
// Packer build (testdata/packer-logs/ssh-timeout.log: Packer v1.9.4, the
// qemu.gcp build of templates/packer started from a blank disk image under
// TCG with ssh_timeout 5s) and checks that the summary and the returned
// error quote Packer's cause with the log's path, and the wrong one
// ("no artifacts were created") is not offered as the reason.
func TestAFailedBuildsErrorQuotesPackersCause(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "aws,gcp"
	realLog, err := filepath.Abs(filepath.Join("testdata", "packer-logs", "ssh-timeout.log"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.build(context.Background(), "FAKE_PACKER_FAIL=gcp", "FAKE_PACKER_FAIL_LOG="+realLog)
	log := "logs/1.0.0/" + vmName + "/gcp.log"
	const cause = "--> qemu.gcp: Timeout waiting for SSH."
	if err == nil || !strings.Contains(err.Error(), "gcp: "+cause+" (log "+log+")") || strings.Contains(err.Error(), "aws") {
		t.Errorf("error %v, want one quoting %q for gcp only, with its log", err, cause)
	}
	summary := f.out.String()[strings.Index(f.out.String(), ">> summary"):]
	if !strings.Contains(summary, "gcp failed, says Packer ("+log+"):\n      "+cause+"\n") {
		t.Errorf("summary does not quote Packer's cause:\n%s", summary)
	}
	if !strings.Contains(f.out.String(), "gcp: FAILED after") || strings.Contains(f.out.String(), "FAILED after 0s: exit status 1: ==> Builds finished") {
		t.Errorf("progress line does not give the cause:\n%s", f.out.String())
	}
}

// TestPackerErrorsPicksPackersErrorLines reads two real Packer v1.9.4 logs
// (testdata/packer-logs) and one composed from Ansible's and Packer's
// formats (a failed task needs a booted guest, which these tests do not
// have).
func TestPackerErrorsPicksPackersErrorLines(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, log, want string }{
		{"ssh timeout, real log", filepath.Join("testdata", "packer-logs", "ssh-timeout.log"), "--> qemu.gcp: Timeout waiting for SSH."},
		{"no log", filepath.Join(dir, "missing.log"), ""},
		{"ansible task", "", "qemu.gcp: fatal: [default]: FAILED! => {\"msg\": \"No package matching 'nope' found available\"} | --> qemu.gcp: Error executing Ansible: Non-zero exit status: exit status 2"},
		{"variable refused, real log", filepath.Join("testdata", "packer-logs", "missing-iso.log"), "Error: Invalid value for varfile variable"},
	}
	inline := map[string]string{
		"ansible task": "2026-11-30T12:00:00Z:     qemu.gcp: TASK [base : Install] ****\n" +
			"2026-11-30T12:00:01Z:     qemu.gcp: fatal: [default]: FAILED! => {\"msg\": \"No package matching 'nope' found available\"}\n" +
			"2026-11-30T12:00:02Z: ==> qemu.gcp: Provisioning step had errors: Running the cleanup provisioner, if present...\n" +
			"==> Some builds didn't complete successfully and had errors:\n--> qemu.gcp: Error executing Ansible: Non-zero exit status: exit status 2\n\n==> Builds finished but no artifacts were created.\n",
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.log
			if path == "" {
				path = filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".log")
				if err := os.WriteFile(path, []byte(inline[tc.name]), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := strings.Join(packerErrors(path), " | "); got != tc.want {
				t.Errorf("packerErrors = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAbortOnErrorKeepsTheFailedBuildsOutput(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp"
	f.env["PACKER_ON_ERROR"] = "abort"
	_, err := f.build(context.Background(), "FAKE_PACKER_FAIL=gcp")
	if err == nil || !strings.Contains(err.Error(), "PACKER_ON_ERROR=abort: their output stays in .cache/packer-output/1.0.0/"+vmName) {
		t.Fatalf("error %v, want one saying the output is kept", err)
	}
	if _, err := os.Stat(filepath.Join(f.outputDir("gcp"), "partial.vmdk")); err != nil {
		t.Errorf("the failed build's output is gone with PACKER_ON_ERROR=abort: %v", err)
	}
}

func TestPreflightRefusesAnAnsibleCoreThatCannotManageTheRelease(t *testing.T) {
	bin := t.TempDir()
	fake := "#!/bin/sh\necho 'ansible [core 2.18.3]'\n"
	if err := os.WriteFile(filepath.Join(bin, "ansible"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "PATH" {
			return bin
		}
		return ""
	}
	if _, err := checkAnsible(context.Background(), 8, getenv); err == nil || !strings.Contains(err.Error(), "ansible-core 2.18.3 cannot manage EL 8") {
		t.Errorf("EL 8 with ansible-core 2.18.3: %v, want a refusal naming both", err)
	}
	if note, err := checkAnsible(context.Background(), 9, getenv); err != nil || note != "" {
		t.Errorf("EL 9 with ansible-core 2.18.3: note %q, error %v; want neither", note, err)
	}
	if note, err := checkAnsible(context.Background(), 8, func(string) string { return t.TempDir() }); err != nil || note != "" {
		t.Errorf("no ansible on PATH: note %q, error %v; want neither (Preflight names the missing tool)", note, err)
	}
}

// Debug boxes come after the artifacts, and a failed one leaves the
// artifacts recorded, checksummed and catalogued, and the build failing at
// the end naming it.
func TestAFailedDebugBoxLeavesTheArtifactsAndFailsTheBuildAtTheEnd(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp"
	deps := f.deps()
	var order []string
	convert := deps.Convert
	deps.Convert = func(ctx context.Context, ps []providers.Provider) ([]tree.Artifact, error) {
		order = append(order, "convert")
		return convert(ctx, ps)
	}
	deps.DebugBoxes = func(context.Context, []providers.Provider) ([]tree.Artifact, error) {
		order = append(order, "debug boxes")
		return nil, errors.New("adding the vagrant user to \"debug.qcow2\": no operating system")
	}
	deps.Record = func(context.Context, Facts, []tree.Artifact) ([]tree.Artifact, error) {
		order = append(order, "record")
		return nil, nil
	}
	opts := Options{Out: &f.out, Getenv: func(k string) string { return f.env[k] }, Env: []string{"FAKE_PACKER_REC=" + f.rec},
		Grace: 10 * time.Second, KVMDevice: filepath.Join(f.root, "no-kvm")}
	_, err := Build(context.Background(), f.config(), deps, opts)
	if err == nil || !strings.Contains(err.Error(), "vagrant user") {
		t.Errorf("Build: %v, want the debug box's error", err)
	}
	if got := strings.Join(order, ","); got != "convert,debug boxes,record" {
		t.Errorf("steps ran in the order %s, want convert,debug boxes,record", got)
	}
	if f.checksummed != 1 || len(f.catalogued) != 1 {
		t.Errorf("checksummed %d times, catalogued %d times; want both once", f.checksummed, len(f.catalogued))
	}
}

func TestSigningKeysDoNotMakeABuildOutOfDate(t *testing.T) {
	cfg := newFixture(t).config()
	before, err := fingerprints(cfg, providers.All, "1.9.4")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Site.Signing = config.Signing{GPGKey: "keys/release.asc", CosignKey: "keys/cosign.key", CosignPassword: "pw"}
	after, err := fingerprints(cfg, providers.All, "1.9.4")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(before, after) {
		t.Error("setting signing keys changed the builds' fingerprints: every build would run again")
	}
}
