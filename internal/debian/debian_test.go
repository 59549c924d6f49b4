package debian

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gold-standard-images/internal/golden"
)

// shipped is a Spec like the one the shipped definition gives.
func shipped(root, cache string) Spec {
	return Spec{
		Root: root, Suite: "bookworm",
		Mirror: "http://deb.debian.org/debian", SecurityMirror: "http://deb.debian.org/debian-security",
		VMName: "debian12", Version: "1.0.0", DiskSizeMiB: 40960, Timezone: "UTC",
		CacheDir: cache,
	}
}

func TestProvidersAreTheRowsSorted(t *testing.T) {
	if got, want := Providers(), []string{"azure", "docker", "gcp", "openstack"}; !slices.Equal(got, want) {
		t.Errorf("Providers() = %v, want %v", got, want)
	}
}

func TestPackagesFollowWhatEachProviderRuns(t *testing.T) {
	for _, tc := range []struct {
		provider    string
		has, hasNot []string
	}{
		{"openstack", []string{"linux-image-cloud-amd64", "grub-pc-bin", "grub-efi-amd64-bin", "cloud-init", "qemu-guest-agent", "openssh-server", "cloud-initramfs-growroot"}, []string{"waagent"}},
		{"azure", []string{"cloud-init", "waagent", "hyperv-daemons", "chrony"}, []string{"qemu-guest-agent"}},
		{"gcp", []string{"google-guest-agent", "google-compute-engine-oslogin", "linux-image-cloud-amd64"}, []string{"cloud-init"}},
		{"docker", []string{"ca-certificates"}, []string{"linux-image-cloud-amd64", "grub-pc-bin", "grub2-common", "cloud-init", "openssh-server", "systemd-sysv"}},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			p := rows[tc.provider].Packages()
			if !slices.IsSorted(p) {
				t.Errorf("packages not sorted: %v", p)
			}
			for _, want := range tc.has {
				if !slices.Contains(p, want) {
					t.Errorf("packages lack %q: %v", want, p)
				}
			}
			for _, not := range tc.hasNot {
				if slices.Contains(p, not) {
					t.Errorf("packages hold %q: %v", not, p)
				}
			}
		})
	}
}

func TestCacheKeyChangesWithEachBootstrapInputOnly(t *testing.T) {
	base := shipped("/repo", "/cache")
	recipe := []byte("echo customize\n")
	key := cacheKey(base, "openstack", rows["openstack"], recipe)
	changed := func(s Spec, provider string, r row, recipe []byte) string { return cacheKey(s, provider, r, recipe) }
	withPackage := rows["openstack"]
	withPackage.packages = append([]string{"vim"}, withPackage.packages...)
	withSource := rows["openstack"]
	withSource.datasources = []string{"OpenStack"}
	withArgs := rows["openstack"]
	withArgs.kernelArgs = []string{"quiet"}
	withSSHD := rows["openstack"]
	withSSHD.sshd = []string{"X11Forwarding no"}
	for _, tc := range []struct {
		name string
		key  string
	}{
		{"suite", changed(Spec{Suite: "trixie", Mirror: base.Mirror, SecurityMirror: base.SecurityMirror}, "openstack", rows["openstack"], recipe)},
		{"mirror", changed(Spec{Suite: base.Suite, Mirror: "http://mirror.example/debian", SecurityMirror: base.SecurityMirror}, "openstack", rows["openstack"], recipe)},
		{"security mirror", changed(Spec{Suite: base.Suite, Mirror: base.Mirror, SecurityMirror: "http://mirror.example/security"}, "openstack", rows["openstack"], recipe)},
		{"provider", changed(base, "azure", rows["openstack"], recipe)},
		{"package list", changed(base, "openstack", withPackage, recipe)},
		{"datasources", changed(base, "openstack", withSource, recipe)},
		{"kernel arguments", changed(base, "openstack", withArgs, recipe)},
		{"sshd settings", changed(base, "openstack", withSSHD, recipe)},
		{"recipe", changed(base, "openstack", rows["openstack"], []byte("echo customize; true\n"))},
	} {
		if tc.key == key {
			t.Errorf("changing the %s keeps the cache key %s", tc.name, key)
		}
	}
	other := base
	other.VMName, other.Version, other.Timezone, other.NTPServers, other.DiskSizeMiB = "other", "9.9.9", "Europe/Berlin", []string{"ntp.example"}, 8192
	if got := cacheKey(other, "openstack", rows["openstack"], recipe); got != key {
		t.Errorf("settings of the disk, not the bootstrap, change the cache key: %s, want %s", got, key)
	}
}

func TestGuestfishScriptLaysOutEachDisk(t *testing.T) {
	for _, provider := range []string{"openstack", "docker"} {
		t.Run(provider, func(t *testing.T) {
			golden.Check(t, []byte(guestfishScript(rows[provider], "/out/.disk.tmp", "/cache/rootfs.tar", "/work/finish.env", "/repo/scripts/debian/finish.sh")))
		})
	}
}

func TestFinishEnvCarriesTheSettingsQuoted(t *testing.T) {
	s := shipped("/repo", "/cache")
	for _, tc := range []struct {
		name     string
		provider string
		ntp      []string
	}{
		{"openstack keeps Debian's NTP", "openstack", nil},
		{"gcp uses the metadata server", "gcp", nil},
		{"the site's NTP servers win", "gcp", []string{"ntp1.example", "ntp2.example"}},
		{"azure", "azure", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.NTPServers = tc.ntp
			golden.Check(t, []byte(finishEnv(s, tc.provider, rows[tc.provider])))
		})
	}
}

func TestMakeDiskNamesTheProviderOrFieldItRefuses(t *testing.T) {
	good := shipped(t.TempDir(), t.TempDir())
	for _, tc := range []struct {
		name     string
		provider string
		edit     func(*Spec)
		want     []string
	}{
		{"unknown provider", "vmware", func(*Spec) {}, []string{`"vmware"`, "azure, docker, gcp, openstack"}},
		{"no mirror", "openstack", func(s *Spec) { s.Mirror = "" }, []string{"openstack", `"Mirror"`}},
		{"tiny disk", "gcp", func(s *Spec) { s.DiskSizeMiB = 100 }, []string{"gcp", `"DiskSizeMiB"`}},
		{"shell in a setting", "azure", func(s *Spec) { s.VMName = "x$(reboot)" }, []string{"azure", `"x$(reboot)"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.edit(&s)
			var progress bytes.Buffer
			err := MakeDisk(context.Background(), s, tc.provider, t.TempDir()+"/disk.qcow2", &progress)
			if err == nil {
				t.Fatal("MakeDisk succeeded")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if progress.Len() != 0 {
				t.Errorf("progress before refusing: %q", progress.String())
			}
		})
	}
}

func TestBootstrapTakesTheCachedTarballOfTheSameInputs(t *testing.T) {
	root := t.TempDir()
	writeRecipe(t, root)
	s := shipped(root, t.TempDir())
	recipe, _ := os.ReadFile(filepath.Join(root, bootstrapRecipe))
	key := cacheKey(s, "openstack", rows["openstack"], recipe)
	cached := filepath.Join(s.CacheDir, "bookworm-openstack-"+key[:16]+".tar")
	if err := os.WriteFile(cached, []byte("a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir()) // no mmdebstrap: only the cache can answer
	var progress bytes.Buffer
	got, err := bootstrap(context.Background(), s, "openstack", rows["openstack"], io.Discard, &progress)
	if err != nil || got != cached {
		t.Fatalf("bootstrap = %q, %v; want the cached %q", got, err, cached)
	}
	if !strings.Contains(progress.String(), "(cached ") {
		t.Errorf("progress %q does not say cached", progress.String())
	}

	// FORCE=1 bootstraps again (here mmdebstrap is missing, so it fails)
	// and keeps the cached tarball until a new one is whole.
	s.Force = true
	if got, err := bootstrap(context.Background(), s, "openstack", rows["openstack"], io.Discard, io.Discard); err == nil {
		t.Errorf("Force: bootstrap = %q, want it to run mmdebstrap again, not take the cache", got)
	}
	if data, err := os.ReadFile(cached); err != nil || string(data) != "a tarball" {
		t.Errorf("Force: the cached tarball is gone after a failed bootstrap (%v)", err)
	}
}

func TestAFailedBootstrapLeavesNothingAndSweepsAKilledRunsLeftovers(t *testing.T) {
	root := t.TempDir()
	writeRecipe(t, root)
	s := shipped(root, t.TempDir())
	recipe, _ := os.ReadFile(filepath.Join(root, bootstrapRecipe))
	name := "bookworm-gcp-" + cacheKey(s, "gcp", rows["gcp"], recipe)[:16] + ".tar"
	killed := filepath.Join(s.CacheDir, "."+name+".tmp-123")
	other := filepath.Join(s.CacheDir, ".bookworm-azure-0123456789abcdef.tar.tmp-456") // another entry's, maybe running
	for _, d := range []string{killed, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", t.TempDir()) // mmdebstrap fails to start
	_, err := bootstrap(context.Background(), s, "gcp", rows["gcp"], io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "bootstrapping Debian bookworm for gcp") {
		t.Fatalf("error %v, want one naming the bootstrap of gcp", err)
	}
	entries, _ := os.ReadDir(s.CacheDir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{filepath.Base(other)}; !slices.Equal(left, want) {
		t.Errorf("cache folder holds %v, want only %v", left, want)
	}
}

// writeRecipe writes a stand-in customize.sh under root.
func writeRecipe(t *testing.T, root string) {
	t.Helper()
	p := filepath.Join(root, bootstrapRecipe)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
