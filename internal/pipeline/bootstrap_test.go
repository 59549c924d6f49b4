package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/providers"
)

// bootstrapped runs Build of the shipped Debian-12 definition in f's root
// with a stand-in Bootstrap that writes a disk, or fails for the providers
// in fail, and returns the providers it was called for.
func (f *fixture) bootstrapped(t *testing.T, fail ...string) ([]string, []Result, error) {
	t.Helper()
	def, err := os.ReadFile(filepath.Join("..", "..", config.OSDir, "Debian-12.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.write(config.OSDir+"/Debian-12.json", string(def))
	f.write("bin/mmdebstrap", "")
	if err := os.Chmod(filepath.Join(f.root, "bin", "mmdebstrap"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(f.root, "Debian-12", func(k string) string { return f.env[k] }, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var called []string
	deps := f.deps()
	deps.PackerPath = func(context.Context) (string, string, error) {
		return "", "", errors.New("a bootstrap needs no Packer")
	}
	deps.Bootstrap = func(_ context.Context, p providers.Provider, disk, logRel string) error {
		called = append(called, p.Name)
		if want := cfg.Tree().Log(p.Name); logRel != want {
			t.Errorf("%s: log %q, want %q", p.Name, logRel, want)
		}
		if err := os.WriteFile(disk, []byte("disk"), 0o644); err != nil {
			return err
		}
		if slices.Contains(fail, p.Name) {
			return errors.New("grub-install: told to fail")
		}
		return nil
	}
	f.out.Reset()
	env := func(k string) string {
		if k == "PATH" {
			return f.env[k] + ":" + filepath.Join(f.root, "bin")
		}
		return f.env[k]
	}
	results, err := Build(context.Background(), cfg, deps, Options{Out: &f.out, Getenv: env, Grace: 10 * time.Second, KVMDevice: filepath.Join(f.root, "no-kvm")})
	t.Logf("output of the build:\n%s", f.out.String())
	return called, results, err
}

// A family without an installer makes its disks through Deps.Bootstrap,
// where Packer would have left them, and never fetches an ISO, starts a
// kickstart server or runs Packer; the steps after it are the same. The
// providers it does not build yet are left out with a note.
func TestABootstrapFamilyMakesItsDisksWithoutISOKickstartOrPacker(t *testing.T) {
	f := newFixture(t)
	called, results, err := f.bootstrapped(t)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"azure", "docker", "gcp", "openstack"}
	if !slices.Equal(called, want) {
		t.Errorf("Bootstrap was called for %v, want %v", called, want)
	}
	if f.fetched != 0 || f.ksStarted != 0 {
		t.Errorf("fetched the ISO %d times, started the kickstart server %d times; want neither", f.fetched, f.ksStarted)
	}
	if got := statuses(results); len(got) != len(want) || got["openstack"] != OK {
		t.Errorf("results %v, want OK for %v", got, want)
	}
	disk := filepath.Join(f.root, ".cache", "packer-output", "1.0.0", "Debian-12", "openstack", "Debian-12-1.0.0_openstack.qcow2")
	if _, err := os.Stat(disk); err != nil {
		t.Errorf("no disk where the conversion reads it: %v", err)
	}
	if len(f.converted) != 1 || !slices.Equal(f.converted[0], want) || len(f.inspected) != 1 {
		t.Errorf("converted %v, inspected %v; want %v once each", f.converted, f.inspected, want)
	}
	for _, line := range []string{`Debian-12 (family "debian12") does not build aws, virtualbox, vmware yet: left out`, ">> bootstrap (azure, docker, gcp, openstack)"} {
		if !strings.Contains(f.out.String(), line) {
			t.Errorf("output lacks %q", line)
		}
	}

	// Nothing changed: the next run makes no disk.
	f.converted = nil
	if called, _, err = f.bootstrapped(t); err != nil || len(called) != 0 {
		t.Errorf("second run: called for %v (%v), want none", called, err)
	}
}

// A failed disk leaves no output, fails the build naming the provider and
// its log, and does not stop the others.
func TestAFailedBootstrapIsNamedAndLeavesNothing(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "gcp,openstack"
	_, results, err := f.bootstrapped(t, "gcp")
	if err == nil || !strings.Contains(err.Error(), "bootstrap failed for gcp") || !strings.Contains(err.Error(), "logs/1.0.0/Debian-12/gcp.log") {
		t.Errorf("Build: %v, want an error naming gcp and its log", err)
	}
	if got := statuses(results); got["gcp"] != Failed || got["openstack"] != OK {
		t.Errorf("results %v, want gcp failed and openstack ok", got)
	}
	if _, err := os.Stat(filepath.Join(f.root, ".cache", "packer-output", "1.0.0", "Debian-12", "gcp")); !os.IsNotExist(err) {
		t.Errorf("the failed disk's output folder is still there (%v)", err)
	}
}

// ONLY may name providers the family does not build (it may be meant for
// several definitions): they are left out with a note; only a selection
// left empty is an error, before anything runs.
func TestOnlyProvidersTheFamilyDoesNotBuildAreLeftOut(t *testing.T) {
	f := newFixture(t)
	f.env["ONLY"] = "aws,openstack"
	called, _, err := f.bootstrapped(t)
	if err != nil || !slices.Equal(called, []string{"openstack"}) {
		t.Errorf("ONLY=aws,openstack: Bootstrap ran for %v (%v), want openstack only", called, err)
	}
	if want := `does not build aws yet: left out`; !strings.Contains(f.out.String(), want) {
		t.Errorf("output lacks %q", want)
	}

	f = newFixture(t)
	f.env["ONLY"] = "aws,vmware"
	called, _, err = f.bootstrapped(t)
	if err == nil || !strings.Contains(err.Error(), `Debian-12 (family "debian12") does not build aws, vmware yet: nothing to build`) {
		t.Errorf("ONLY=aws,vmware: %v, want an error naming both", err)
	}
	if len(called) != 0 {
		t.Errorf("Bootstrap ran for %v", called)
	}
}

// A bootstrap needs root (mmdebstrap --mode=root): the preflight says so
// before anything runs.
func TestABootstrapWithoutRootStopsAtThePreflight(t *testing.T) {
	defer func(old func() int) { geteuid = old }(geteuid)
	geteuid = func() int { return 1000 }
	f := newFixture(t)
	called, _, err := f.bootstrapped(t)
	if err == nil || !strings.Contains(err.Error(), "needs root") || len(called) != 0 {
		t.Errorf("Build as uid 1000: %v, Bootstrap ran for %v; want the preflight to stop it naming root", err, called)
	}
}
