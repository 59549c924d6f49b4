package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/sshkeys"
	"gold-standard-images/test/guest"
)

// The fixture OS definition (fixture/<vmName>.json): its "ISO" is the base
// disk image fixture/image/mkimage.sh makes, supplied through the site
// file like RHEL's ISO. Its os_family is rhel7 only to name the kickstart
// template the server renders: the guest fetches the kickstart and keeps
// it, and takes root's authorized key from it, but installs nothing; its
// os_version is 7 because the configuration refuses a family for a release
// it does not serve.
const vmName = "Debian-12-fixture"

// guestKickstart is where the guest reaches the kickstart server: QEMU's
// restricted user network forwards it to the server on the host's loopback.
const guestKickstart = "10.0.2.100:8080"

// repoInputs are the folders of the repository a build reads; the test
// copies them into its own root so that nothing is written to the checkout.
var repoInputs = []string{"http", "ansible", "scripts", packer.TemplatesDir}

// fixtureRoot makes a repository-like root in a temporary folder: copies
// of repoInputs, the fixture OS definition, a site file that supplies the
// fixture image as the ISO (and a fixed root password, so that the
// kickstart renders the same in the server and in the test), and the key
// pairs.
func fixtureRoot(t *testing.T, image, imageSum string) string {
	t.Helper()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, dir := range repoInputs {
		if err := os.CopyFS(filepath.Join(root, dir), os.DirFS(filepath.Join(repo, dir))); err != nil {
			t.Fatal(err)
		}
	}
	def, err := os.ReadFile(filepath.Join("fixture", vmName+".json"))
	if err != nil {
		t.Fatal(err)
	}
	site, err := json.MarshalIndent(map[string]any{
		"version":     "1.0.0",
		"disk_size":   4096,
		"ssh_timeout": "15m",
		"root_pass":   "e2e-fixture",
		"root_salt":   "e2efixture",
		"os":          map[string]any{vmName: map[string]any{"iso_url": image, "iso_checksum": imageSum}},
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]struct {
		data []byte
		mode os.FileMode
	}{
		"templates/os/" + vmName + ".json": {def, 0o644},
		"templates/site.json":              {site, 0o600},
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sshkeys.Ensure(filepath.Join(root, "keys"), "packer", "vagrant"); err != nil {
		t.Fatal(err)
	}
	return root
}

// fixtureVars returns what makes a QEMU build boot the fixture image:
// Packer starts from the disk image, edits its GRUB kernel line, and runs
// it on a user network with restrict=on, so the guest reaches nothing but
// Packer's SSH port forward and the kickstart server on the host's loopback
// (guestfwd). The guest's serial console goes to <serialDir>/<provider>.serial.
// One vCPU per guest: the builds run in parallel on a small machine.
func fixtureVars(serialDir string) func(p providers.Provider, v *packer.Vars) {
	return func(p providers.Provider, v *packer.Vars) {
		v.DiskImage = true
		v.BootMenu = "grub"
		v.KSBaseURL = "http://" + guestKickstart
		v.CPUs, v.Memory = 1, 1024
		v.QEMUArgs = [][]string{
			{"-netdev", restrictedNet("{{ .SSHHostPort }}", v.KSPort)},
			{"-serial", "file:" + filepath.Join(serialDir, p.Name+".serial")},
		}
	}
}

// restrictedNet is the QEMU user network of a fixture guest: SSH from the
// host's loopback at sshPort, the kickstart server at guestKickstart when
// ksPort is not 0, and nothing else. The kickstart goes through socat, one
// per connection: a guestfwd to tcp: would hold one connection open from
// QEMU's start, which the server closes as idle long before the guest asks.
func restrictedNet(sshPort string, ksPort int) string {
	net := guest.RestrictedNet(sshPort)
	if ksPort != 0 {
		net += fmt.Sprintf(",guestfwd=tcp:%s-cmd:socat STDIO TCP:127.0.0.1:%d", guestKickstart, ksPort)
	}
	return net
}
