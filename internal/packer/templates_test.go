package packer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/golden"
	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/packer/packertest"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sshkeys"
)

// realPacker is the real Packer: these tests check the templates with it.
func realPacker(t *testing.T) string { return packertest.Real(t, repoRoot(t)) }

// fixture makes what the templates read besides themselves: an (empty)
// ISO, both key pairs, the playbook and the guest scripts. The playbook and
// scripts are stand-ins, since only their existence is checked here;
// `mage validate` checks the real ones.
type fixture struct {
	iso, isoSum, keys, repo, out string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{
		iso:  filepath.Join(dir, "placeholder.iso"),
		keys: filepath.Join(dir, "keys"),
		repo: filepath.Join(dir, "repo"),
		out:  filepath.Join(dir, "out"),
	}
	sum := sha256.Sum256(nil)
	f.isoSum = "sha256:" + hex.EncodeToString(sum[:])
	files := map[string]string{
		f.iso: "",
		filepath.Join(f.repo, "ansible", "site.yml"):   "---\n- name: Stand-in\n  hosts: all\n  tasks: []\n",
		filepath.Join(f.repo, "scripts", "cleanup.sh"): "#!/bin/sh\n",
		filepath.Join(f.repo, "scripts", "zero.sh"):    "#!/bin/sh\n",
	}
	for p, body := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sshkeys.Ensure(f.keys, "packer", "vagrant"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

// vars are valid variables for the OS definition vmName, pointing at f.
func (f fixture) vars(t *testing.T, vmName string) packer.Vars {
	t.Helper()
	cfg, err := config.Load(repoRoot(t), vmName, func(string) string { return "" }, config.Options{AllowMissingISO: true})
	if err != nil {
		t.Fatal(err)
	}
	v := packer.ForConfig(cfg, f.iso, 8080)
	if cfg.OS.ISOChecksum == "" { // site-supplied ISO not configured yet
		v.ISOChecksum = f.isoSum
	}
	v.SSHPrivateKeyFile = filepath.Join(f.keys, "packer")
	v.VagrantPublicKeyFile = filepath.Join(f.keys, "vagrant.pub")
	v.OutputRoot = f.out
	v.RepoRoot = f.repo
	return v
}

// TestTemplatesValidateWithUEFIFirmware runs `packer validate` over every
// provider's build with UEFI firmware for one OS of each family. Every
// shipped definition as it is (BIOS, or the firmware it names) is validated
// by internal/validate's TestTheRepositoryPassesEveryCheck.
func TestTemplatesValidateWithUEFIFirmware(t *testing.T) {
	bin := realPacker(t)
	root := repoRoot(t)
	f := newFixture(t)
	for _, vm := range []string{"CentOS-7.9.2009", "Rocky-8.10", "Rocky-9.6", "Rocky-10.1"} {
		v := f.vars(t, vm)
		v.Firmware, v.BootMenu = "uefi", "grub-install"
		t.Run(vm, func(t *testing.T) {
			t.Parallel()
			var log bytes.Buffer
			if err := packer.Validate(context.Background(), bin, root, v, nil, &log); err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			if !strings.Contains(log.String(), "The configuration is valid.") {
				t.Errorf("packer validate did not say the configuration is valid:\n%s", log.String())
			}
		})
	}
}

// ForConfig takes the firmware, boot menu, CPU and VMware guest type from
// the OS release: EL 10 ISOs boot GRUB2 under BIOS too and need x86-64-v3.
func TestForConfigFollowsTheOSRelease(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		vm           string
		menu, vmware string
		v3           bool
	}{
		{"CentOS-7.9.2009", "isolinux", "centos7-64", false},
		{"Rocky-8.10", "isolinux", "rhel8-64", false},
		{"Rocky-9.6", "isolinux", "rhel9-64", false},
		{"Rocky-10.1", "grub-install", "rhel9-64", true},
		{"CentOS-Stream-10", "grub-install", "rhel9-64", true},
	} {
		v := f.vars(t, c.vm)
		if v.Firmware != "bios" || v.BootMenu != c.menu || v.VMwareGuestOSType != c.vmware || v.X8664V3 != c.v3 {
			t.Errorf("%s: firmware %q, boot menu %q, VMware %q, x86-64-v3 %v; want bios, %q, %q, %v", c.vm, v.Firmware, v.BootMenu, v.VMwareGuestOSType, v.X8664V3, c.menu, c.vmware, c.v3)
		}
	}
}

func TestVarFileIsAcceptedWithoutWarnings(t *testing.T) {
	bin := realPacker(t)
	root := repoRoot(t)
	f := newFixture(t)
	v := f.vars(t, "CentOS-7.9.2009")
	v.Accelerator = "tcg"
	v.CPUs = 4
	varFile := filepath.Join(f.out, "vars", "aws.json")
	args, err := packer.Command("validate", varFile, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(varFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("var-file mode: %v %v, want 0600", fi, err)
	}
	out, err := run.Output(context.Background(), run.Cmd{
		Name: bin,
		Args: args,
		Dir:  root,
		Env:  packer.Env,
	})
	if err != nil {
		t.Fatalf("packer validate -var-file: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "Undefined variable") || !strings.Contains(string(out), "The configuration is valid.") {
		t.Errorf("packer did not accept the var-file cleanly:\n%s", out)
	}
}

// buildErrorRE matches the machine-readable line Packer prints for each
// build that failed: <time>,<build>,error,<message>.
var buildErrorRE = regexp.MustCompile(`(?m)^\d+,([^,]+),error,`)

// TestOnlySelectsExactlyTheNamedBuilds runs the real `packer build` with the
// placeholder ISO: every selected build stops at the ISO checksum (or at a
// missing hypervisor) before any VM starts, and names itself in its error.
func TestOnlySelectsExactlyTheNamedBuilds(t *testing.T) {
	bin := realPacker(t)
	root := repoRoot(t)
	f := newFixture(t)
	v := f.vars(t, "CentOS-7.9.2009")
	// A checksum the empty placeholder cannot match, so no build gets past
	// the ISO step even where the hypervisor is installed.
	v.ISOChecksum = "sha256:07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a"

	cases := [][]providers.Provider{nil} // nil: no -only, all builds
	for _, p := range providers.All {
		cases = append(cases, []providers.Provider{p})
	}
	gcp, _ := providers.Lookup("gcp")
	vmware, _ := providers.Lookup("vmware")
	cases = append(cases, []providers.Provider{gcp, vmware})

	for _, ps := range cases {
		want := ps
		if want == nil {
			want = providers.All
		}
		name := strings.Join(providers.Names(ps), ",")
		if name == "" {
			name = "all"
		}
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			args, err := packer.Command("build", filepath.Join(t.TempDir(), "vars.json"), v, ps, "-machine-readable")
			if err != nil {
				t.Fatal(err)
			}
			err = run.Run(context.Background(), run.Cmd{
				Name:   bin,
				Args:   args,
				Dir:    root,
				Env:    append([]string{"PACKER_CACHE_DIR=" + t.TempDir()}, packer.Env...),
				Output: &out,
			})
			if err == nil {
				t.Fatalf("packer build with a placeholder ISO succeeded:\n%s", out.String())
			}
			var got []string
			for _, m := range buildErrorRE.FindAllStringSubmatch(out.String(), -1) {
				if !slices.Contains(got, m[1]) {
					got = append(got, m[1])
				}
			}
			var wantNames []string
			for _, p := range want {
				wantNames = append(wantNames, p.PackerSource())
			}
			sort.Strings(got)
			sort.Strings(wantNames)
			if !slices.Equal(got, wantNames) {
				t.Errorf("builds run = %v, want %v\n%s", got, wantNames, out.String())
			}
			if entries, _ := os.ReadDir(f.out); len(entries) > 0 {
				t.Errorf("a build wrote into output_root: %v", entries)
			}
		})
	}
}

func TestVariableValidationRejectsBadValues(t *testing.T) {
	bin := realPacker(t)
	root := repoRoot(t)
	f := newFixture(t)
	tests := []struct {
		name   string
		change func(*packer.Vars)
		want   string
	}{
		{"md5 checksum", func(v *packer.Vars) { v.ISOChecksum = "md5:d41d8cd98f00b204e9800998ecf8427e" }, `The iso_checksum must be "sha256:" followed by 64 hex characters`},
		{"short sha256", func(v *packer.Vars) { v.ISOChecksum = "sha256:abc" }, `The iso_checksum must be "sha256:"`},
		{"missing ISO", func(v *packer.Vars) { v.ISOPath = filepath.Join(f.out, "nope.iso") }, "The iso_path must name an existing local ISO file"},
		{"negative port", func(v *packer.Vars) { v.KSPort = -1 }, "The ks_port must be a whole number from 0 to 65535"},
		{"port too big", func(v *packer.Vars) { v.KSPort = 70000 }, "The ks_port must be a whole number from 0 to 65535"},
		{"unknown accelerator", func(v *packer.Vars) { v.Accelerator = "hax" }, `The accelerator must be "kvm", "tcg" or empty.`},
		{"os_version with letters", func(v *packer.Vars) { v.OSVersion = "7-latest" }, "The os_version must be empty or digits and dots"},
		{"ftp repo_server", func(v *packer.Vars) { v.RepoServer = "ftp://mirror/centos" }, "The repo_server must be empty or an http:// or https:// URL"},
		{"ftp kickstart", func(v *packer.Vars) { v.KSBaseURL = "ftp://host/ks" }, "The ks_base_url must be empty or an http:// or https:// URL"},
		{"vm_name with space", func(v *packer.Vars) { v.VMName = "CentOS 7" }, "The vm_name must start with a letter or digit"},
		{"version with slash", func(v *packer.Vars) { v.Version = "1.0/2" }, "The version must start with a letter or digit"},
		{"tiny disk", func(v *packer.Vars) { v.DiskSize = 100 }, "The disk_size must be a whole number of MiB, at least 4096."},
		{"little memory", func(v *packer.Vars) { v.Memory = 512 }, "The memory must be a whole number of MiB, at least 1024."},
		{"bad timeout", func(v *packer.Vars) { v.SSHTimeout = "soon" }, "The ssh_timeout must be a Go duration"},
		{"missing key", func(v *packer.Vars) { v.SSHPrivateKeyFile = filepath.Join(f.out, "nokey") }, "run `mage keys` to create keys/packer"},
		{"relative output", func(v *packer.Vars) { v.OutputRoot = "out" }, "The output_root must be an absolute path."},
		{"missing playbook", func(v *packer.Vars) { v.RepoRoot = f.out }, "site.yml"},
		{"unknown boot menu", func(v *packer.Vars) { v.BootMenu = "syslinux" }, `The boot_menu must be "isolinux", "grub-install" or "grub".`},
		{"unknown firmware", func(v *packer.Vars) { v.Firmware = "efi" }, `The firmware must be "bios" or "uefi".`},
		{"bad VMware guest", func(v *packer.Vars) { v.VMwareGuestOSType = "RHEL 9" }, `The vmware_guest_os_type must be a VMware guest id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := f.vars(t, "CentOS-7.9.2009")
			tt.change(&v)
			var log bytes.Buffer
			err := packer.Validate(context.Background(), bin, root, v, nil, &log)
			if err == nil {
				t.Fatalf("packer validate accepted the bad value:\n%s", log.String())
			}
			// Packer wraps long messages; compare with whitespace folded.
			if !strings.Contains(fold(log.String()), fold(tt.want)) {
				t.Errorf("output does not contain %q:\n%s", tt.want, log.String())
			}
		})
	}
}

func fold(s string) string { return strings.Join(strings.Fields(s), " ") }

// console evaluates expr with the real `packer console` over the templates
// below root with the variables v, and returns what it printed.
func console(t *testing.T, bin, root string, v packer.Vars, expr string) []byte {
	t.Helper()
	args, err := packer.Command("console", filepath.Join(t.TempDir(), "vars.json"), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), packer.Env...)
	cmd.Stdin = strings.NewReader(expr + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("packer console %s: %v", expr, err)
	}
	return out
}

// TestBootCommands evaluates the boot lines with the real `packer console`
// and compares them with testdata/TestBootCommands.golden.
func TestBootCommands(t *testing.T) {
	bin := realPacker(t)
	root := repoRoot(t)
	f := newFixture(t)
	var got bytes.Buffer
	for _, base := range []string{"", "http://192.0.2.7:8088/"} {
		v := f.vars(t, "CentOS-7.9.2009")
		v.KSBaseURL = base
		out := console(t, bin, root, v, "local.boot_command")
		got.WriteString("# ks_base_url = \"" + base + "\"\n")
		got.Write(out)
	}
	// The site's own kickstart server: the original's http://localhost:8080/
	// (this host's loopback: reached through the guests' NAT, or the vmnet
	// address), and one elsewhere under a path; guests fetch ks.php, which
	// the original's PHP server answers, and ks:up too.
	for _, ks := range []string{"http://localhost:8080/", "http://ks.example.com:8088/gsi/"} {
		v := f.vars(t, "CentOS-7.9.2009")
		site := config.Defaults()
		site.KSServer = ks
		withSite := packer.ForConfig(&config.Config{Root: root, Site: site, OS: config.OS{VMName: v.VMName}}, f.iso, 41234)
		v.KSBaseURL, v.KSPort, v.KSPath = withSite.KSBaseURL, withSite.KSPort, withSite.KSPath
		got.WriteString("# site ks_server = \"" + ks + "\"\n")
		got.Write(console(t, bin, root, v, `[local.boot_command["openstack"], local.boot_command["vmware"]]`))
	}
	// GRUB2 of the EL ISOs: Rocky 9 under UEFI, Rocky 10 under BIOS.
	for _, c := range []struct{ vm, firmware string }{{"Rocky-9.6", "uefi"}, {"Rocky-10.1", "bios"}} {
		v := f.vars(t, c.vm)
		if c.firmware == "uefi" {
			v.Firmware, v.BootMenu = "uefi", "grub-install"
		}
		out := console(t, bin, root, v, `local.boot_command["gcp"]`)
		got.WriteString("# " + c.vm + ", firmware " + c.firmware + ", boot_menu " + v.BootMenu + "\n")
		got.Write(out)
	}
	golden.Check(t, got.Bytes())
}

// TestAnsibleVarsCarryTheOSDefinition evaluates, with the real `packer
// console`, the extra variables every build's Ansible provisioner gets:
// the OS definition's repo_server and os_version, and the site's
// gcp_guest_repo, reach the playbook.
func TestAnsibleVarsCarryTheOSDefinition(t *testing.T) {
	bin := realPacker(t)
	root := repoRoot(t)
	f := newFixture(t)
	for _, tc := range []struct{ vmName, repoServer, osVersion string }{
		{"CentOS-7.9.2009", "https://vault.centos.org", "7.9.2009"},
		{"CentOS-7.6.1810", "https://vault.centos.org", "7.6.1810"},
		{"RedHat-7.9", "", "7.9"},
		{"Rocky-9.6", "https://dl.rockylinux.org/vault/rocky", "9.6"},
		{"CentOS-Stream-10", "https://mirror.stream.centos.org", "10"},
	} {
		t.Run(tc.vmName, func(t *testing.T) {
			v := f.vars(t, tc.vmName)
			if v.GCPGuestRepo != config.Defaults().GCPGuestRepo {
				t.Errorf("gcp_guest_repo = %q, want the site default %q", v.GCPGuestRepo, config.Defaults().GCPGuestRepo)
			}
			v.GCPGuestRepo = "https://mirror.example.com/google/yum" // a site's mirror
			out := console(t, bin, root, v, "jsonencode(local.ansible_vars)")
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("packer console printed %q: %v", out, err)
			}
			want := map[string]any{
				"vm_name":                 tc.vmName,
				"version":                 v.Version,
				"vagrant_public_key_file": v.VagrantPublicKeyFile,
				"repo_server":             tc.repoServer,
				"os_version":              tc.osVersion,
				"gcp_guest_repo":          "https://mirror.example.com/google/yum",
				"namespace":               "gold",
				"ks_server":               "",
				"os_definition": map[string]any{"vm_name": tc.vmName, "os_name": v.OSDefinition.OSName, "os_version": tc.osVersion, "iso": v.OSDefinition.ISO,
					"iso_checksum": v.OSDefinition.ISOChecksum, "iso_server": v.OSDefinition.ISOServer, "repo_server": tc.repoServer},
				// The site's guest switches, each an Ansible variable.
				"cloud_init_disable_root": true,
				"azure_agent_swap":        true,
				"gcp_network_ipv6":        true,
				"gcp_ssh_client_config":   false,
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ansible_vars = %v, want %v", got, want)
			}
		})
	}
}

func TestCommandWritesTheVarFileAndPutsItBeforeTheTemplateFolder(t *testing.T) {
	gcp, _ := providers.Lookup("gcp")
	aws, _ := providers.Lookup("aws")
	v := packer.Vars{VMName: "CentOS-7.9.2009", Version: "1.0.0", ISOPath: "/isos/a b.iso", KSPort: 8080, CPUs: 4}
	varFile := filepath.Join(t.TempDir(), "vars", "build.json")
	args, err := packer.Command("build", varFile, v, []providers.Provider{aws, gcp}, "-force")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"build", "-force", "-only=virtualbox-iso.aws,qemu.gcp", "-var-file=" + varFile, "templates/packer"}
	if !slices.Equal(args, want) {
		t.Errorf("args %q, want %q", args, want)
	}
	data, err := os.ReadFile(varFile)
	if err != nil {
		t.Fatal(err)
	}
	var vars map[string]any
	if err := json.Unmarshal(data, &vars); err != nil {
		t.Fatal(err)
	}
	for k, w := range map[string]any{"iso_path": "/isos/a b.iso", "ks_port": float64(8080), "cpus": float64(4), "ks_base_url": ""} {
		if vars[k] != w {
			t.Errorf("var-file: %s = %#v, want %#v", k, vars[k], w)
		}
	}
	if _, ok := vars["memory"]; ok {
		t.Errorf("zero Memory must leave the template default: %s", data)
	}
	if packer.Only(nil) != "" {
		t.Errorf("Only(nil) = %q, want empty (all builds)", packer.Only(nil))
	}
}

// TestGRUBBootCommandEditsTheKernelLineWithTheURLQuoted evaluates, with the
// real `packer console`, the boot line of boot_menu "grub" (the e2e
// fixture's menu, as EL 8+ UEFI installers): GRUB would split an unquoted
// URL at its &.
func TestGRUBBootCommandEditsTheKernelLineWithTheURLQuoted(t *testing.T) {
	bin := realPacker(t)
	f := newFixture(t)
	v := f.vars(t, "CentOS-7.9.2009")
	v.BootMenu = "grub"
	v.KSBaseURL = "http://10.0.2.100:8080"
	got := string(console(t, bin, repoRoot(t), v, `local.boot_command["gcp"][0]`))
	want := `e<wait><down><down><end> inst.text inst.ks='http://10.0.2.100:8080/ks?build=virtual/gcp&os=CentOS-7.9.2009'<f10><wait>`
	if strings.TrimSpace(got) != want {
		t.Errorf("boot command = %s, want %s", got, want)
	}
}

// TestSiteCPUsMemoryAndNATSwitchReachTheTemplates loads a site file giving
// cpus, memory and the VirtualBox NAT switch in the original project's
// string form and evaluates the variables with the real `packer console`.
func TestSiteCPUsMemoryAndNATSwitchReachTheTemplates(t *testing.T) {
	bin := realPacker(t)
	f := newFixture(t)
	siteRoot := t.TempDir()
	site := `{"cpus": "3", "memory": "3072", "virtualbox_nat_localhost": "false", "headless": "false"}`
	if err := os.MkdirAll(filepath.Join(siteRoot, "templates", "os"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(siteRoot, config.SiteFile), []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _, err := config.LoadSite(siteRoot, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	v := f.vars(t, "CentOS-7.9.2009")
	withSite := packer.ForConfig(&config.Config{Root: repoRoot(t), Site: s, OS: config.OS{VMName: v.VMName}}, f.iso, 8080)
	v.CPUs, v.Memory, v.VirtualBoxNATLocalhost, v.Headless = withSite.CPUs, withSite.Memory, withSite.VirtualBoxNATLocalhost, withSite.Headless
	got := strings.Fields(string(console(t, bin, repoRoot(t), v, `"${var.cpus} ${var.memory} ${var.virtualbox_nat_localhost} ${var.headless}"`)))
	if want := []string{"3", "3072", "false", "false"}; !slices.Equal(got, want) {
		t.Errorf("cpus memory virtualbox_nat_localhost headless = %q, want %q", got, want)
	}
}

// TestTheHypervisorSettingsAreTheOriginals evaluates, with the real `packer
// console`, the VBoxManage commands of the VirtualBox builds (USB and audio
// off, as the original project's; VirtualBox 7's NAT switch where set) and
// the VMX settings of the vmware build (the NIC in PCI slot 32, as the
// original's; EFI firmware under UEFI), against
// testdata/TestTheHypervisorSettingsAreTheOriginals.golden.
func TestTheHypervisorSettingsAreTheOriginals(t *testing.T) {
	bin := realPacker(t)
	f := newFixture(t)
	var got bytes.Buffer
	for _, nat := range []bool{true, false} {
		v := f.vars(t, "CentOS-7.9.2009")
		v.VirtualBoxNATLocalhost = nat
		fmt.Fprintf(&got, "# local.virtualbox_modifyvm, virtualbox_nat_localhost = %v\n", nat)
		got.Write(console(t, bin, repoRoot(t), v, "jsonencode(local.virtualbox_modifyvm)"))
	}
	for _, fw := range []string{"bios", "uefi"} {
		v := f.vars(t, "CentOS-7.9.2009")
		v.Firmware = fw
		fmt.Fprintf(&got, "# local.vmware_vmx_data, firmware = %s\n", fw)
		got.Write(console(t, bin, repoRoot(t), v, "jsonencode(local.vmware_vmx_data)"))
	}
	golden.Check(t, got.Bytes())
}

// TestASitesOwnTaskGetsTheOriginalsVariableNames runs, with the real
// ansible-playbook against this machine, a task as a site wrote them for
// the original project's playbooks (packer_build_name, packer_namespace,
// packer_version, packer_ks_server, packer_os), with the extra variables
// the real `packer console` evaluates for a build of openstack and
// ansible/group_vars/all.yml: each gets the value the original's had.
func TestASitesOwnTaskGetsTheOriginalsVariableNames(t *testing.T) {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("this test needs ansible-playbook (apt-get install ansible-core): %v", err)
		}
		t.Skipf("ansible-playbook missing: %v", err)
	}
	bin := realPacker(t)
	f := newFixture(t)
	v := f.vars(t, "CentOS-7.9.2009")
	v.Namespace, v.KSServer = "TSI-CC", "http://localhost:8080/"
	extra := console(t, bin, repoRoot(t), v, `jsonencode(merge(local.ansible_vars, { build = "openstack" }))`)
	dir := t.TempDir()
	groupVars, err := os.ReadFile(filepath.Join(repoRoot(t), "ansible", "group_vars", "all.yml"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	task := `- hosts: all
  gather_facts: false
  tasks:
    - name: A site's own task of the original project's days
      ansible.builtin.copy:
        dest: ` + out + `
        content: "{{ packer_build_name }} {{ packer_namespace }} {{ packer_version }} {{ packer_ks_server }} {{ packer_os.vm_name }} {{ packer_os.os_name }} {{ packer_os.os_version }} {{ packer_os.iso }} {{ packer_os.iso_server }} {{ packer_os.repo_server }}"
        mode: "0644"
`
	for name, data := range map[string][]byte{"group_vars/all.yml": groupVars, "site-task.yml": []byte(task), "extra.json": extra} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("ansible-playbook", "-c", "local", "-i", "localhost,", "--extra-vars", "@"+filepath.Join(dir, "extra.json"), filepath.Join(dir, "site-task.yml"))
	cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_LOCAL_TEMP="+dir, "ANSIBLE_REMOTE_TEMP="+dir)
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, log)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "openstack TSI-CC 1.0.0 http://localhost:8080/ CentOS-7.9.2009 CentOS 7.9.2009 CentOS-7-x86_64-Minimal-2009 https://vault.centos.org https://vault.centos.org"
	if string(got) != want {
		t.Errorf("the site's task wrote %q, want %q", got, want)
	}
}
