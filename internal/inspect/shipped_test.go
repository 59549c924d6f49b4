package inspect

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/run"
	"gold-standard-images/test/fixture"
)

// loginRules are the Table's rules that keep a login out of the images
// that ship: checked here on the real fixture disk.
var loginRules = []string{"no vagrant user", "no known key in any authorized_keys", "no passwordless sudo"}

// TestAShippedImageWithAVagrantUserAKnownKeyOrPasswordlessSudoIsBroken
// checks the Table's login rules on the fixture guest's base disk (they
// hold) and on a copy of it (made on a qcow2 overlay: the cached base is
// never written) to which guestfish added what a Vagrant box has and a shipped image must
// not: the user vagrant with the site's vagrant key and a NOPASSWD
// drop-in, Vagrant's insecure key in the authorized_keys2 of an account
// whose home is outside /home, and the build's packer key in root's.
func TestAShippedImageWithAVagrantUserAKnownKeyOrPasswordlessSudoIsBroken(t *testing.T) {
	ctx, accel, base := fixtureImage(t, "guestfish", "qemu-img")
	var rules []Rule
	for _, r := range Select(Table, "openstack", Debian) {
		if slices.Contains(loginRules, r.Name) {
			rules = append(rules, r)
		}
	}
	if len(rules) != len(loginRules) {
		t.Fatalf("the Table has %d of the rules %q for openstack", len(rules), loginRules)
	}
	const (
		siteVagrant = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPm6pQk4Hm0vjY5VJzT3lFQ6W6nSx0n7o8bG9Qp1Zr2T vagrant@site"
		sitePacker  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJp3cXz0q6hM1mYbF9oTqD4eWl2sN8aK7vR5uG0iLxYc packer@site"
	)
	opts := Options{Rules: rules, BuildKey: sitePacker, KnownKeys: []string{sitePacker, siteVagrant}}

	inspectDisk := func(disk string) Report {
		t.Helper()
		var out strings.Builder
		o := opts
		o.Out = &out
		rep, err := Inspect(ctx, "openstack", Source{Path: disk, Format: "qcow2"}, "", o)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s:\n%s", filepath.Base(disk), out.String())
		return rep
	}
	if broken := inspectDisk(base).Broken(); broken != nil {
		t.Fatalf("the fixture's base disk: %v, want every login rule to hold", broken)
	}

	files := map[string]string{
		"vagrant.keys": siteVagrant + "\n",
		"deploy.keys":  "# deploy\n" + VagrantInsecureKeys[1] + "\n",
		"root.keys":    sitePacker + "\n",
		"sudoers":      "Defaults:vagrant !requiretty\nvagrant ALL=(ALL) NOPASSWD: ALL\n",
	}
	// Run in the folder of the files: the script names them relatively,
	// so that it and the files are all the cached image depends on.
	script := `command "useradd --create-home --shell /bin/bash vagrant"
command "useradd --system --home-dir /srv/deploy --create-home deploy"
mkdir-p /home/vagrant/.ssh
upload vagrant.keys /home/vagrant/.ssh/authorized_keys
mkdir-p /srv/deploy/.ssh
upload deploy.keys /srv/deploy/.ssh/authorized_keys2
mkdir-p /root/.ssh
upload root.keys /root/.ssh/authorized_keys
upload sudoers /etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant
`
	inputs := []byte(script)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		inputs = fmt.Appendf(inputs, "%s\n%s", name, files[name])
	}
	// Cached beside the fixture (fixture.Derived): its guestfish appliance
	// costs a minute or more under TCG. inspect refuses a disk with a
	// backing file (diskcheck): the image is a copy that stands alone.
	shipped := fixture.Derived(ctx, t, accel, "logins", inputs, func(base, out string) error {
		dir := t.TempDir()
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				return err
			}
		}
		overlay := filepath.Join(dir, "overlay.qcow2")
		for _, c := range []run.Cmd{
			{Name: "qemu-img", Args: []string{"create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay}, Timeout: time.Minute},
			{Name: "guestfish", Args: []string{"--format=qcow2", "-a", overlay, "-i"}, Stdin: strings.NewReader(script), Dir: dir,
				Env: append([]string{"LIBGUESTFS_BACKEND=direct"}, accel.LibguestfsEnv(os.Getenv)...), Timeout: 10 * time.Minute,
				Hint: "libguestfs stuck (KVM that runs no guest: set QEMU_ACCELERATOR=tcg)"},
			{Name: "qemu-img", Args: []string{"convert", "-f", "qcow2", "-O", "qcow2", overlay, out}, Timeout: 5 * time.Minute},
		} {
			if err := run.Run(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	want := map[string][]string{ // rule -> parts of its error
		"no vagrant user": {"/etc/passwd line", `matches "^vagrant:": "vagrant:x:`},
		"no known key in any authorized_keys": {
			`/home/vagrant/.ssh/authorized_keys line 1 holds the known key "ssh-ed25519 AAAAC3Nz...9Qp1Zr2T vagrant@site"`,
			`/root/.ssh/authorized_keys line 1 holds the known key "ssh-ed25519 AAAAC3Nz...uG0iLxYc packer@site"`,
			`/srv/deploy/.ssh/authorized_keys2 line 2 holds the known key "ssh-ed25519 AAAAC3Nz...ysfJOn5Y vagrant insecure public key"`,
		},
		"no passwordless sudo": {"/etc/sudoers.d/vagrant line 2: vagrant ALL=(ALL) NOPASSWD: ALL"},
	}
	rep := inspectDisk(shipped)
	for _, c := range rep.Checks {
		if c.Err == nil {
			t.Errorf("rule %q holds on the changed copy, want it broken", c.Rule.Name)
			continue
		}
		for _, part := range want[c.Rule.Name] {
			if !strings.Contains(c.Err.Error(), part) {
				t.Errorf("rule %q: %v, want it to say %q", c.Rule.Name, c.Err, part)
			}
		}
	}
}
