package boxcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/catalog"
	"gold-standard-images/internal/golden"
)

// writeCatalog writes a catalog listing versions, each with the providers.
func writeCatalog(t *testing.T, versions []string, providers ...string) string {
	t.Helper()
	c := catalog.Catalog{Name: "gold/Debian-12-fixture"}
	for _, v := range versions {
		cv := catalog.Version{Version: v}
		for _, p := range providers {
			cv.Providers = append(cv.Providers, catalog.Provider{Name: p, URL: "file:///nowhere/" + v + ".box", ChecksumType: "sha256", Checksum: strings.Repeat("0", 64)})
		}
		c.Versions = append(c.Versions, cv)
	}
	data, err := catalog.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "Debian-12-fixture.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTheBoxesOfTheNewestVersionOrOfVERSIONAreChecked(t *testing.T) {
	path := writeCatalog(t, []string{"1.0.0", "1.2.0"}, "libvirt", "virtualbox")
	for _, tc := range []struct {
		version string
		want    string
		wantErr string
	}{
		{"", "gold/Debian-12-fixture v1.2.0 (libvirt), gold/Debian-12-fixture v1.2.0 (virtualbox)", ""},
		{"1.0.0", "gold/Debian-12-fixture v1.0.0 (libvirt), gold/Debian-12-fixture v1.0.0 (virtualbox)", ""},
		{"2.0.0", "", `version "2.0.0" (VERSION) is not in it; it lists 1.0.0, 1.2.0`},
	} {
		boxes, err := Boxes(path, tc.version)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Boxes(%q): err = %v, want %q", tc.version, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range boxes {
			got = append(got, b.String())
		}
		if strings.Join(got, ", ") != tc.want {
			t.Errorf("Boxes(%q) = %s, want %s", tc.version, strings.Join(got, ", "), tc.want)
		}
	}
}

func TestAMissingCatalogSaysToRunTheCatalogTarget(t *testing.T) {
	_, err := Boxes(filepath.Join(t.TempDir(), "CentOS-7.json"), "")
	if err == nil || !strings.Contains(err.Error(), "CentOS-7.json") || !strings.Contains(err.Error(), "mage catalog") {
		t.Fatalf("err = %v, want the path and mage catalog", err)
	}
}

// TestAHostWithoutTheBoxesProviderBootsNothingAndSaysWhy: boxes of a
// provider the host lacks are skipped with the reason, and a run that
// boots nothing is an error, not a pass.
func TestAHostWithoutTheBoxesProviderBootsNothingAndSaysWhy(t *testing.T) {
	path := writeCatalog(t, []string{"1.0.0"}, "libvirt", "vmware_desktop")
	key := filepath.Join(t.TempDir(), "vagrant")
	if err := os.WriteFile(key, []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	host := &Host{Missing: map[string]string{"libvirt": "libvirt is not installed", "vmware_desktop": "no VMware"}}
	results, err := Run(context.Background(), Options{Catalog: path, KeyFile: key, Providers: host, Out: &out})
	if err == nil || !strings.Contains(err.Error(), "this host can boot none of them") {
		t.Fatalf("err = %v, want that no box can boot", err)
	}
	if len(results) != 2 || results[0].Skipped != "libvirt is not installed" || results[1].Skipped != "no VMware" {
		t.Fatalf("results = %+v", results)
	}
	golden.Check(t, []byte(out.String()))
}

func TestTheImageRecordMustNameTheVMAndTheBuild(t *testing.T) {
	for _, tc := range []struct {
		name, content, vmName, want, wantErr string
	}{
		{"whole", "vm_name=Debian-12-fixture\nversion=1.0.0\nbuild=openstack\n", "Debian-12-fixture", "vm_name=Debian-12-fixture version=1.0.0 build=openstack", ""},
		{"missing file", "", "Debian-12-fixture", "", "/etc/gold-standard-image: want vm_name=, version= and build= lines (ansible/site.yml writes them), vm_name, version, build missing"},
		{"no build", "vm_name=Debian-12-fixture\nversion=1.0.0\n", "Debian-12-fixture", "", "build missing"},
		{"another image", "vm_name=CentOS-7.9.2009\nversion=1.0.0\nbuild=openstack\n", "Debian-12-fixture", "", `/etc/gold-standard-image: vm_name: want "Debian-12-fixture", got "CentOS-7.9.2009"`},
	} {
		got, err := checkRecord(tc.content, tc.vmName)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestTheSSHAddressComesFromVagrantsSSHConfig(t *testing.T) {
	for _, tc := range []struct{ config, want, wantErr string }{
		{"Host default\n  HostName 192.168.219.104\n  User vagrant\n  Port 22\n", "192.168.219.104:22", ""},
		{"Host default\n  HostName 127.0.0.1\n  Port 2222\n", "127.0.0.1:2222", ""},
		{"Host default\n  User vagrant\n", "", "no HostName line"},
	} {
		got, err := sshAddress(tc.config)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("sshAddress: err = %v, want %q", err, tc.wantErr)
			}
			continue
		}
		if got != tc.want || err != nil {
			t.Errorf("sshAddress = %q, %v; want %q", got, err, tc.want)
		}
	}
}

// TestTheVagrantfileKeepsTheGuestToItsOwnPoolAndIsolatedNetwork: TCG
// (driver qemu), the vagrant key without key insertion, no synced folder,
// the check's pool and an isolated management network.
func TestTheVagrantfileKeepsTheGuestToItsOwnPoolAndIsolatedNetwork(t *testing.T) {
	f := vagrantfileFor{
		Box:         Box{Name: "gold/Debian-12-fixture", Version: "1.0.0", Provider: "libvirt"},
		KeyFile:     `/keys/va"gr#{ant}`,
		BootTimeout: bootTimeout("tcg"),
		Libvirt:     &libvirtSettings{Driver: libvirtDriver("tcg"), Socket: "/tmp/x/libvirt-sock", Pool: "gsi-boxcheck-01", Network: "gsi-boxcheck-01", Subnet: "192.168.150.0/24", Prefix: "gsi-boxcheck-01-"},
	}
	golden.Check(t, []byte(f.render()))
	if d := bootTimeout("kvm"); d >= bootTimeout("tcg") || d < 5*time.Minute {
		t.Errorf("bootTimeout(kvm) = %s", d)
	}
}

// TestAFailedVagrantCommandIsExplainedByVagrantsMessage: Ruby's backtrace
// and progress lines are left out, the message stays.
func TestAFailedVagrantCommandIsExplainedByVagrantsMessage(t *testing.T) {
	stderr := "Progress: 10%\rProgress: 100%\r\n" +
		"/usr/lib/ruby/vendor_ruby/fog/libvirt/requests/compute/vm_action.rb:7:in `create': Call to virDomainCreateWithFlags failed: Permission denied (Libvirt::Error)\n" +
		"\tfrom /usr/share/rubygems-integration/all/gems/vagrant-libvirt-0.11.2/lib/vagrant-libvirt/action/start_domain.rb:457:in `call'\n" +
		"\tfrom /usr/share/rubygems-integration/all/gems/vagrant-2.3.4/lib/vagrant/action/warden.rb:48:in `call'\n"
	want := "/usr/lib/ruby/vendor_ruby/fog/libvirt/requests/compute/vm_action.rb:7:in `create': Call to virDomainCreateWithFlags failed: Permission denied (Libvirt::Error)"
	if got := vagrantMessage(stderr); got != want {
		t.Errorf("vagrantMessage = %q, want %q", got, want)
	}
}
