package ansible_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// play runs tasks (YAML, indented for a play's task list) on this machine
// with ansible-playbook -c local, the roles of this folder on the path.
func play(t *testing.T, tasks string) {
	t.Helper()
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("this test needs ansible-playbook (apt-get install ansible-core): %v", err)
		}
		t.Skipf("ansible-playbook missing: %v", err)
	}
	roles, err := filepath.Abs("roles")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	playbook := filepath.Join(dir, "play.yml")
	text := "- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks
	if err := os.WriteFile(playbook, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ansible-playbook", "-c", "local", "-i", "localhost,", playbook)
	cmd.Env = append(os.Environ(), "ANSIBLE_ROLES_PATH="+roles, "ANSIBLE_NOCOLOR=1", "ANSIBLE_LOCAL_TEMP="+dir, "ANSIBLE_REMOTE_TEMP="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
}

func TestTheSerialConsoleRoleSetsGRUBsKernelLineForEachPlatform(t *testing.T) {
	el7 := "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"crashkernel=auto rd.lvm.lv=centos/root rhgb quiet\"\nGRUB_DISABLE_RECOVERY=\"true\"\n"
	for _, tc := range []struct {
		name, before, args, want string
		remove                   string // serial_console_remove_args; "" the role's
	}{
		{"azure", el7, `["console=ttyS0", "earlyprintk=ttyS0", "rootdelay=300", "net.ifnames=0"]`,
			`GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root console=ttyS0 earlyprintk=ttyS0 rootdelay=300 net.ifnames=0"`, ""},
		{"gcp replaces another console", strings.Replace(el7, "rhgb", "console=tty1 rhgb", 1), `["console=ttyS0,38400n8"]`,
			`GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root console=ttyS0,38400n8"`, ""},
		{"azure and gcp drop crashkernel=auto, as the original's", el7, `["console=ttyS0,38400n8"]`,
			`GRUB_CMDLINE_LINUX="rd.lvm.lv=centos/root console=ttyS0,38400n8"`, "[rhgb, quiet, crashkernel=auto]"},
		{"openstack keeps both consoles, and a second run changes nothing", "GRUB_CMDLINE_LINUX='console=tty0 console=ttyS0,115200n8 quiet'\n", `["console=tty0", "console=ttyS0,115200n8"]`,
			`GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "grub")
			if err := os.WriteFile(file, []byte(tc.before), 0o644); err != nil {
				t.Fatal(err)
			}
			task := fmt.Sprintf("    - ansible.builtin.include_role:\n        name: serial_console\n        tasks_from: default_grub.yml\n      vars:\n        serial_console_default_grub: %s\n        serial_console_args: %s\n", file, tc.args)
			if tc.remove != "" {
				task += "        serial_console_remove_args: " + tc.remove + "\n"
			}
			for range 2 {
				play(t, task)
				got, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(string(got), "\n")
				var cmdline []string
				for _, l := range lines {
					if strings.HasPrefix(l, "GRUB_CMDLINE_LINUX=") {
						cmdline = append(cmdline, l)
					}
				}
				if len(cmdline) != 1 || cmdline[0] != tc.want {
					t.Fatalf("GRUB_CMDLINE_LINUX lines %q, want [%q]; file:\n%s", cmdline, tc.want, got)
				}
				if strings.Contains(tc.before, "GRUB_TIMEOUT=5") && !strings.Contains(string(got), "GRUB_TIMEOUT=5\n") {
					t.Errorf("other settings lost:\n%s", got)
				}
			}
		})
	}
}

// fakeGrubby puts a grubby on PATH that prints info as `grubby --info=ALL`
// does and records the arguments of every other call in the returned file.
// Debian has no grubby: the role's own logic (which arguments go, which
// come, whether to call it at all) is what this tries.
func fakeGrubby(t *testing.T, info string) (calls string) {
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls")
	infoFile := filepath.Join(dir, "info")
	if err := os.WriteFile(infoFile, []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = --info=ALL ]; then cat %q; exit 0; fi\nfor a in \"$@\"; do printf '%%s\\n' \"$a\"; done >> %q\n", infoFile, calls)
	if err := os.WriteFile(filepath.Join(dir, "grubby"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	return calls
}

func TestTheSerialConsoleRoleUpdatesEveryKernelOnlyWhenAnEntryDiffers(t *testing.T) {
	el7 := "index=0\nkernel=/boot/vmlinuz-3.10.0-1160.el7.x86_64\nargs=\"ro crashkernel=auto rd.lvm.lv=centos/root rhgb quiet LANG=en_US.UTF-8\"\n" +
		"index=1\nkernel=/boot/vmlinuz-0-rescue-abc\nargs=\"ro crashkernel=auto console=tty1 rhgb quiet\"\n"
	done := "index=0\nkernel=/boot/vmlinuz-5.14.0-70.el9.x86_64\nargs=\"root=/dev/vda1 ro console=ttyS0,38400n8\"\n"
	for _, tc := range []struct {
		name, info string
		want       []string // grubby's arguments; nil: not called
	}{
		{"a stale EL 7 menu", el7, []string{"--update-kernel=ALL", "--remove-args=rhgb quiet console=tty1", "--args=console=ttyS0,38400n8"}},
		{"every entry already right", done, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := fakeGrubby(t, tc.info)
			grub := filepath.Join(t.TempDir(), "grub")
			if err := os.WriteFile(grub, []byte("GRUB_CMDLINE_LINUX=\"ro rhgb\"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			play(t, fmt.Sprintf("    - ansible.builtin.include_role:\n        name: serial_console\n      vars:\n        serial_console_default_grub: %s\n        serial_console_args: [\"console=ttyS0,38400n8\"]\n", grub))
			got, err := os.ReadFile(calls)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("grubby called with %q, want no call", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("grubby not called: %v", err)
			}
			if want := strings.Join(tc.want, "\n") + "\n"; string(got) != want {
				t.Errorf("grubby arguments:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// fakeTools puts programs on PATH that record their arguments, one call a
// line, in the returned file; modinfo fails for the modules in missing.
func fakeTools(t *testing.T, missing ...string) (calls string) {
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls")
	rec := fmt.Sprintf("#!/bin/sh\necho \"$(basename \"$0\") $*\" >> %q\n", calls)
	modinfo := rec + "case \" $* \" in\n"
	for _, m := range missing {
		modinfo += fmt.Sprintf("*\" %s \"*) exit 1 ;;\n", m)
	}
	modinfo += "esac\n"
	for name, script := range map[string]string{"dracut": rec, "modinfo": modinfo} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	return calls
}

func TestTheCloudInitramfsRoleAddsTheDriversEveryKernelHasAndRemakesEachInitramfs(t *testing.T) {
	modules := t.TempDir()
	for _, k := range []string{"5.14.0-70.el9.x86_64", "5.14.0-362.el9.x86_64"} {
		if err := os.MkdirAll(filepath.Join(modules, k), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(modules, k, "modules.dep"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(modules, "leftover-without-modules.dep", "extra"), 0o755)
	calls := fakeTools(t, "xen-blkfront")
	conf := filepath.Join(t.TempDir(), "gsi-cloud.conf")
	play(t, fmt.Sprintf("    - ansible.builtin.include_role:\n        name: cloud_initramfs\n      vars:\n        cloud_initramfs_modules_dir: %s\n        cloud_initramfs_conf: %s\n        cloud_initramfs_drivers: [nvme]\n        cloud_initramfs_optional_drivers: [xen-blkfront, ena]\n", modules, conf))
	got, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nhostonly=\"no\"\n", "\nadd_drivers+=\" nvme ena \"\n"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("%s lacks %q:\n%s", conf, want, got)
		}
	}
	log, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"dracut --force /boot/initramfs-5.14.0-362.el9.x86_64.img 5.14.0-362.el9.x86_64\n",
		"dracut --force /boot/initramfs-5.14.0-70.el9.x86_64.img 5.14.0-70.el9.x86_64\n",
		"modinfo -k 5.14.0-70.el9.x86_64 -F filename ena\n",
	} {
		if !strings.Contains(string(log), want) {
			t.Errorf("calls lack %q:\n%s", want, log)
		}
	}
	if strings.Contains(string(log), "leftover") {
		t.Errorf("a folder without modules.dep was taken for a kernel:\n%s", log)
	}
}

// readFile returns the content of path, failing t when it cannot.
func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestCloudInitNamesTheDefaultUserAfterTheDistributionWithSudoAndKeepsRootOut
// writes the cloud-init settings the original project's images had: the
// default user named after the distribution, in wheel, with sudo without a
// password; root refused unless the site says otherwise.
func TestCloudInitNamesTheDefaultUserAfterTheDistributionWithSudoAndKeepsRootOut(t *testing.T) {
	for _, tc := range []struct {
		distro, extra, user, disableRoot string
	}{
		{"CentOS", "", "centos", "true"},
		{"RedHat", "", "redhat", "true"},
		{"Rocky", "        cloud_init_disable_root: false\n", "rocky", "false"},
	} {
		cfg := filepath.Join(t.TempDir(), "50_local.cfg")
		play(t, fmt.Sprintf("    - ansible.builtin.include_role:\n        name: cloud_init\n        tasks_from: local_cfg.yml\n      vars:\n        ansible_distribution: %s\n        cloud_init_local_cfg: %s\n%s", tc.distro, cfg, tc.extra))
		var got struct {
			DisableRoot bool `yaml:"disable_root"`
			SystemInfo  struct {
				DefaultUser struct {
					Name       string   `yaml:"name"`
					LockPasswd bool     `yaml:"lock_passwd"`
					Groups     []string `yaml:"groups"`
					Sudo       []string `yaml:"sudo"`
				} `yaml:"default_user"`
				Distro string `yaml:"distro"`
			} `yaml:"system_info"`
		}
		text := readFile(t, cfg)
		if err := yaml.Unmarshal([]byte(text), &got); err != nil {
			t.Fatalf("%s: %v\n%s", tc.distro, err, text)
		}
		u := got.SystemInfo.DefaultUser
		if u.Name != tc.user || !u.LockPasswd || !slices.Equal(u.Groups, []string{"wheel", "adm", "systemd-journal"}) || !slices.Equal(u.Sudo, []string{"ALL=(ALL) NOPASSWD:ALL"}) || got.SystemInfo.Distro != "rhel" || fmt.Sprint(got.DisableRoot) != tc.disableRoot {
			t.Errorf("%s: settings %+v, want user %s with NOPASSWD sudo, disable_root %s:\n%s", tc.distro, got, tc.user, tc.disableRoot, text)
		}
	}
}

// TestAzureSwapIsMadeOnTheResourceDiskUnlessTheSiteSaysNo checks the
// cloud-init settings that put swap on Azure's resource disk, and that the
// site's azure_agent_swap false removes them.
func TestAzureSwapIsMadeOnTheResourceDiskUnlessTheSiteSaysNo(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "00-azure-swap.cfg")
	task := "    - ansible.builtin.include_role:\n        name: azure_agent\n        tasks_from: swap.yml\n      vars:\n        azure_agent_swap_cfg: " + cfg + "\n"
	play(t, task)
	var got struct {
		FSSetup []struct{ Device, Filesystem string } `yaml:"fs_setup"`
		Mounts  [][]string                            `yaml:"mounts"`
	}
	text := readFile(t, cfg)
	if err := yaml.Unmarshal([]byte(text), &got); err != nil || !strings.HasPrefix(text, "#cloud-config\n") {
		t.Fatalf("%v\n%s", err, text)
	}
	if len(got.FSSetup) != 2 || got.FSSetup[1].Device != "ephemeral0.2" || got.FSSetup[1].Filesystem != "swap" || len(got.Mounts) != 2 || got.Mounts[1][2] != "swap" {
		t.Errorf("no swap on ephemeral0.2: %+v\n%s", got, text)
	}
	play(t, task+"        azure_agent_swap: false\n")
	if _, err := os.Stat(cfg); !os.IsNotExist(err) {
		t.Errorf("azure_agent_swap false left %s: %v", cfg, err)
	}
}

// TestGCPIPv6StaysOnUnlessTheSiteTurnsItOff renders GCP's sysctl file with
// and without the original's IPv6 off.
func TestGCPIPv6StaysOnUnlessTheSiteTurnsItOff(t *testing.T) {
	for _, ipv6 := range []bool{true, false} {
		dir := t.TempDir()
		sysctl := filepath.Join(dir, "60-gsi-gcp.conf")
		play(t, fmt.Sprintf("    - ansible.builtin.include_role:\n        name: gcp_network\n      vars:\n        gcp_network_sysctl_file: %s\n        gcp_network_mtu_file: %s\n        gcp_network_ipv6: %v\n", sysctl, filepath.Join(dir, "mtu.conf"), ipv6))
		text := readFile(t, sysctl)
		off := strings.Contains(text, "\nnet.ipv6.conf.all.disable_ipv6 = 1\n") && strings.Contains(text, "\nnet.ipv6.conf.default.disable_ipv6 = 1\n")
		if off == ipv6 || !strings.Contains(text, "\nkernel.kptr_restrict = 1\n") {
			t.Errorf("gcp_network_ipv6 %v:\n%s", ipv6, text)
		}
	}
}

// TestTheOriginalsSSHClientSettingsKeepOnlyCiphersThisSSHKnows runs the
// ssh_client role on a copy of an EL 7-like ssh_config with this machine's
// real ssh: the original's settings are added in a block that ssh -G
// accepts, without the arcfour ciphers OpenSSH no longer has; a second run
// changes nothing.
func TestTheOriginalsSSHClientSettingsKeepOnlyCiphersThisSSHKnows(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skipf("ssh missing: %v", err)
	}
	cfg := filepath.Join(t.TempDir(), "ssh_config")
	before := "Host *\n        GSSAPIAuthentication yes\n        ForwardX11Trusted yes\n"
	if err := os.WriteFile(cfg, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	task := "    - ansible.builtin.include_role:\n        name: ssh_client\n      vars:\n        ssh_client_dropin: false\n        ssh_client_config: " + cfg + "\n"
	play(t, task)
	first := readFile(t, cfg)
	play(t, task)
	if again := readFile(t, cfg); again != first {
		t.Errorf("a second run changed the file:\n%s", again)
	}
	known, err := exec.Command("ssh", "-Q", "cipher").Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range []string{"aes128-ctr", "aes192-ctr", "aes256-ctr", "arcfour256", "arcfour128", "aes128-cbc", "3des-cbc"} {
		if slices.Contains(strings.Fields(string(known)), c) {
			want = append(want, c)
		}
	}
	for _, line := range []string{"StrictHostKeyChecking no", "ServerAliveInterval 420", "ForwardAgent no", "Ciphers " + strings.Join(want, ",")} {
		if !strings.Contains(first, "\n  "+line+"\n") {
			t.Errorf("ssh_config lacks %q:\n%s", line, first)
		}
	}
	if !strings.HasPrefix(first, before) || strings.Contains(first, "arcfour") {
		t.Errorf("the original file must stay first and no arcfour cipher be written:\n%s", first)
	}
	if out, err := exec.Command("ssh", "-G", "-F", cfg, "localhost").CombinedOutput(); err != nil {
		t.Errorf("ssh -G refuses the file: %v\n%s", err, out)
	}
}

// firstValues are sshd's effective settings of a sshd_config without
// Include: the first value of each keyword before the first Match block.
func firstValues(config string) map[string]string {
	got := map[string]string{}
	for _, line := range strings.Split(config, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if strings.EqualFold(f[0], "Match") {
			break
		}
		if _, ok := got[f[0]]; !ok {
			got[f[0]] = f[1]
		}
	}
	return got
}

// TestConfigSSHDSetsTheValueSSHDTakesWhereAnExampleMatchBlockIsCommentedOut
// runs config_sshd with gcp's settings on EL 7's and Debian 12's shape of
// sshd_config: an active "X11Forwarding yes" early and the commented Match
// example at the end. The first value sshd takes must be the role's, a
// real Match block must keep its own lines, and a second run must change
// nothing.
func TestConfigSSHDSetsTheValueSSHDTakesWhereAnExampleMatchBlockIsCommentedOut(t *testing.T) {
	for name, before := range map[string]string{
		"EL 7":                         "#PermitRootLogin yes\nPasswordAuthentication yes\n#X11Forwarding no\nX11Forwarding yes\nUseDNS yes\n\n# Example of overriding settings on a per-user basis\n#Match User anoncvs\n#\tX11Forwarding no\n#\tAllowTcpForwarding no\n",
		"Debian 12 with a Match block": "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nX11Forwarding yes\nPrintMotd no\nMatch User backup\n\tX11Forwarding yes\n\tAllowTcpForwarding no\n",
	} {
		cfg := filepath.Join(t.TempDir(), "sshd_config")
		if err := os.WriteFile(cfg, []byte(before), 0o600); err != nil {
			t.Fatal(err)
		}
		task := "    - ansible.builtin.include_role:\n        name: config_sshd\n      vars:\n        config_sshd_dropin: false\n        config_sshd_config: " + cfg + "\n        config_sshd_validate: test -f %s\n        config_sshd_reload: false\n" +
			"        config_sshd_extra_settings: [{key: PermitTunnel, value: \"no\"}, {key: AllowTcpForwarding, value: \"yes\"}, {key: X11Forwarding, value: \"no\"}, {key: ClientAliveInterval, value: \"420\"}]\n"
		play(t, task)
		first := readFile(t, cfg)
		play(t, task)
		if again := readFile(t, cfg); again != first {
			t.Errorf("%s: a second run changed the file:\n%s", name, again)
		}
		got := firstValues(first)
		for k, want := range map[string]string{"X11Forwarding": "no", "AllowTcpForwarding": "yes", "PermitTunnel": "no", "ClientAliveInterval": "420", "PasswordAuthentication": "no", "PermitRootLogin": "prohibit-password", "UseDNS": "no"} {
			if got[k] != want {
				t.Errorf("%s: sshd takes %s %q, want %q:\n%s", name, k, got[k], want, first)
			}
		}
		if strings.Contains(before, "Match User backup") && !strings.HasSuffix(first, "Match User backup\n\tX11Forwarding yes\n\tAllowTcpForwarding no\n") {
			t.Errorf("%s: the Match block changed:\n%s", name, first)
		}
	}
}
