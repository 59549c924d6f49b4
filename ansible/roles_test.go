package ansible_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	}{
		{"azure", el7, `["console=ttyS0", "earlyprintk=ttyS0", "rootdelay=300", "net.ifnames=0"]`,
			`GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root console=ttyS0 earlyprintk=ttyS0 rootdelay=300 net.ifnames=0"`},
		{"gcp replaces another console", strings.Replace(el7, "rhgb", "console=tty1 rhgb", 1), `["console=ttyS0,38400n8"]`,
			`GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root console=ttyS0,38400n8"`},
		{"openstack keeps both consoles, and a second run changes nothing", "GRUB_CMDLINE_LINUX='console=tty0 console=ttyS0,115200n8 quiet'\n", `["console=tty0", "console=ttyS0,115200n8"]`,
			`GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "grub")
			if err := os.WriteFile(file, []byte(tc.before), 0o644); err != nil {
				t.Fatal(err)
			}
			task := fmt.Sprintf("    - ansible.builtin.include_role:\n        name: serial_console\n        tasks_from: default_grub.yml\n      vars:\n        serial_console_default_grub: %s\n        serial_console_args: %s\n", file, tc.args)
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
