package inspect

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/kvm"
	"gold-standard-images/test/fixture"
)

// fixtureRules fit the e2e fixture guest's base image (Debian 12 as
// mkimage.sh makes it, before any provisioning), each with whether it
// holds there: the inspector must tell them apart on a real disk.
var fixtureRules = []struct {
	rule  Rule
	holds bool
}{
	{Rule{Name: "hostname", Kind: FileHas, Args: []string{"/etc/hostname", `\S`}}, true},
	{Rule{Name: "no image record yet", Kind: FileExists, Args: []string{"/etc/gold-standard-image"}}, false},
	{Rule{Name: "no host keys", Kind: NoFiles, Args: []string{"/etc/ssh/ssh_host_*"}}, true},
	{Rule{Name: "no build key", Kind: NoBuildKey}, true},
	{Rule{Name: "sshd KbdInteractiveAuthentication", Kind: SSHD, Args: []string{"KbdInteractiveAuthentication", "no"}}, true},
	{Rule{Name: "sshd PasswordAuthentication", Kind: SSHD, Args: []string{"PasswordAuthentication", "no"}}, false},
	{Rule{Name: "networkd enabled", Kind: UnitEnabled, Args: []string{"systemd-networkd.service"}}, true},
	{Rule{Name: "waagent enabled", Kind: UnitEnabled, Args: []string{"waagent.service"}}, false},
	{Rule{Name: "sshd and python installed", Kind: Installed, Args: []string{"openssh-server", "python3"}}, true},
	{Rule{Name: "no compiler", Kind: NotInstalled, Args: []string{"gcc"}}, true},
	{Rule{Name: "WALinuxAgent installed", Kind: Installed, Args: []string{"WALinuxAgent"}}, false},
	{Rule{Name: "no rhgb", Kind: NoKernelArgs, Args: []string{"rhgb"}}, true},
	{Rule{Name: "serial console", Kind: KernelArgs, Args: []string{"console=ttyS0,115200", "net.ifnames=0"}}, true},
	{Rule{Name: "GCP's serial console", Kind: KernelArgs, Args: []string{"console=ttyS0,38400n8"}}, false},
	{Rule{Name: "initramfs virtio and ext4", Kind: InitramfsModules, Args: []string{"virtio_blk", "virtio_net", "ext4"}}, true},
	{Rule{Name: "initramfs made-up driver", Kind: InitramfsModules, Args: []string{"gsi_no_such_driver"}}, false},
	{Rule{Name: "initramfs shipped only", Kind: InitramfsModulesShipped, Args: []string{"gsi_no_such_driver", "virtio_blk"}}, true},
	{Rule{Name: "no kernel", Kind: NotInRootfs, Args: []string{"/boot"}}, false},
}

// fixtureImage fails (in CI) or skips t without the tools (Debian
// packages: libguestfs-tools, qemu-utils), and returns a context bounded
// for a test on the fixture, the accelerator and the fixture's base disk.
func fixtureImage(t *testing.T, tools ...string) (context.Context, kvm.Choice, string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("this test needs %s (apt-get install libguestfs-tools qemu-utils): %v", tool, err)
			}
			t.Skipf("%s missing: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	t.Cleanup(cancel)
	accel, err := kvm.Choose(ctx, os.Getenv, "")
	if err != nil {
		t.Fatal(err)
	}
	image, _ := fixture.Image(ctx, t, accel)
	return ctx, accel, image
}

func TestTheInspectorTellsHeldFromBrokenRulesOnTheFixtureImage(t *testing.T) {
	ctx, _, image := fixtureImage(t, "guestfish")
	var rules []Rule
	for _, r := range fixtureRules {
		r.rule.Name += " " + map[bool]string{true: "holds", false: "broken"}[r.holds]
		rules = append(rules, r.rule)
	}
	var out strings.Builder
	start := time.Now()
	rep, err := Inspect(ctx, "openstack", Source{Path: image, Format: "qcow2"}, "", Options{Out: &out, Rules: rules, BuildKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGsitestkey packer"})
	t.Logf("inspection of %s in %s:\n%s", image, time.Since(start).Round(time.Second), out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Distro != "debian" || rep.Family != Debian {
		t.Errorf("distro %q family %q, want debian", rep.Distro, rep.Family)
	}
	if len(rep.Checks) != len(fixtureRules) {
		t.Fatalf("%d rules checked, want %d", len(rep.Checks), len(fixtureRules))
	}
	for i, c := range rep.Checks {
		if holds := c.Err == nil; holds != fixtureRules[i].holds {
			t.Errorf("rule %q: holds %v, want %v (%v)", c.Rule.Name, holds, fixtureRules[i].holds, c.Err)
		}
	}
	broken := rep.Broken()
	for _, c := range rep.Checks {
		if named := broken != nil && strings.Contains(broken.Error(), c.Rule.Name); named != (c.Err != nil) {
			t.Errorf("rule %q: named in the error %v, broken %v", c.Rule.Name, named, c.Err != nil)
		}
	}
}
