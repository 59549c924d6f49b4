package debian

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/inspect"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sshkeys"
	"gold-standard-images/test/guest"
)

// grownMiB is the disk the boot checks attach the image as: larger than
// the image, so the root file system must grow to fill it.
const grownMiB = 44 << 10

// TestAnOpenstackDiskBootsUnderBIOSAndUEFIAndGrows makes the openstack
// disk from a Spec like the shipped one (the host's Debian mirror), checks
// it with the generic inspection rules, and boots it under QEMU with a
// NoCloud seed, once with SeaBIOS and once with OVMF.
func TestAnOpenstackDiskBootsUnderBIOSAndUEFIAndGrows(t *testing.T) {
	for _, tool := range []string{"mmdebstrap", "guestfish", "qemu-img", "qemu-system-x86_64", "mkfs.vfat", "mcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found (scripts/host/install-test-tools.sh installs it)", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	accel, err := kvm.Choose(ctx, os.Getenv, "")
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := shipped(root, filepath.Join(cache, "gold-standard-images", "debian"))
	s.Log = filepath.Join(dir, "tools.log")
	s.GuestfishEnv = accel.LibguestfsEnv(os.Getenv)
	disk := filepath.Join(dir, "openstack.qcow2")
	start := time.Now()
	if err := MakeDisk(ctx, s, "openstack", disk, logWriter{t}); err != nil {
		t.Fatalf("%v\ntools log:\n%s", err, guest.Tail(s.Log, 40))
	}
	st, _ := os.Stat(disk)
	t.Logf("openstack disk made in %s (bootstrap included or cached): %d MiB on the host (%s)", time.Since(start).Round(time.Second), st.Size()>>20, accel.Line)

	if _, err := sshkeys.Ensure(filepath.Join(dir, "keys"), "cloud"); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, "keys", "cloud.pub"))
	if err != nil {
		t.Fatal(err)
	}
	seed := guest.NoCloudSeed(ctx, t, dir, "instance-id: gsi-debian-test\nlocal-hostname: gsi-debian\n",
		fmt.Sprintf("#cloud-config\nssh_authorized_keys:\n  - %s\n", strings.TrimSpace(string(pub))))
	key := filepath.Join(dir, "keys", "cloud")

	firmware := map[string][]string{"bios": nil}
	if _, err := os.Stat(ovmf); err == nil {
		firmware["uefi"] = []string{"-bios", ovmf}
	} else {
		t.Logf("no UEFI boot: %s not found (package ovmf)", ovmf)
	}
	// The generic inspection rules, and a boot per firmware, at once: each
	// reads the disk, none writes it.
	t.Run("checks", func(t *testing.T) {
		t.Run("inspection", func(t *testing.T) {
			t.Parallel()
			rep, err := inspect.Inspect(ctx, "openstack", inspect.Source{Path: disk, Format: "qcow2"}, filepath.Join(dir, "inspect.log"), inspect.Options{Root: root, Out: logWriter{t}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Distro != "debian" || len(rep.Checks) == 0 {
				t.Errorf("inspection found distribution %q and checked %d rules, want debian and some", rep.Distro, len(rep.Checks))
			}
			if err := rep.Broken(); err != nil {
				t.Error(err)
			}
		})
		for _, name := range []string{"bios", "uefi"} {
			fw, ok := firmware[name]
			if !ok {
				continue
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				boot(ctx, t, name, accel.Accelerator, fw, disk, seed, key)
			})
		}
	})
}

// boot boots disk on a larger overlay with the NoCloud seed and firmware
// arguments fw, and checks what a cloud user sees: cloud-init done, no
// failed unit, SSH as debian with the seed's key, the root file system
// grown to the disk, the record of the build, the firmware it booted with.
func boot(ctx context.Context, t *testing.T, name, accel string, fw []string, disk, seed, key string) {
	start := time.Now()
	overlay := filepath.Join(t.TempDir(), name+".qcow2")
	guest.MustRun(ctx, t, run.Cmd{Name: "qemu-img", Args: []string{"create", "-q", "-f", "qcow2", "-b", disk, "-F", "qcow2", overlay, fmt.Sprintf("%dM", grownMiB)}, Timeout: time.Minute})
	g := guest.Boot(t, name, accel, append(fw,
		"-drive", "file="+overlay+",format=qcow2,if=virtio",
		"-drive", "file="+seed+",format=raw,if=virtio,readonly=on"), 20*time.Minute)
	g.WaitSSH(t, 15*time.Minute)
	out := login(t, g, key, 10*time.Minute, "cloud-init status --wait >/dev/null; cloud-init status; systemctl --failed --no-legend --plain; echo ==; df -B1M --output=size / | tail -n 1; lsblk -bdno SIZE /dev/vda; cat /etc/gold-standard-image; test -d /sys/firmware/efi && echo uefi || echo bios")
	t.Logf("%s: logged in as debian after %s:\n%s", name, time.Since(start).Round(time.Second), out)
	head, rest, _ := strings.Cut(out, "==\n")
	if !strings.Contains(head, "status: done") {
		t.Errorf("%s: cloud-init is not done: %q", name, head)
	}
	if failed := strings.TrimSpace(strings.Replace(head, "status: done", "", 1)); failed != "" {
		t.Errorf("%s: failed units:\n%s\nserial console:\n%s", name, failed, guest.Tail(g.Serial, 40))
	}
	f := strings.Fields(rest)
	if len(f) < 3 {
		t.Fatalf("%s: unexpected answer %q", name, rest)
	}
	fsMiB, _ := strconv.Atoi(f[0])
	diskBytes, _ := strconv.ParseInt(f[1], 10, 64)
	if diskBytes != grownMiB<<20 || fsMiB < grownMiB*95/100 {
		t.Errorf("%s: the root file system is %d MiB on a %d-byte disk: it did not grow to fill it", name, fsMiB, diskBytes)
	}
	for _, want := range []string{"vm_name=debian12", "version=1.0.0", "build=openstack", name} {
		if !strings.Contains(rest, want+"\n") {
			t.Errorf("%s: the answer lacks %q: %q", name, want, rest)
		}
	}
}

// ovmf is OVMF's firmware (package ovmf).
const ovmf = "/usr/share/ovmf/OVMF.fd"

// logWriter logs each progress line in the test's log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// login runs command as debian with the private key file key, trying
// until cloud-init has written the key (sshd answers before), at most
// bound; it fails t with the serial console's end when it never can.
func login(t *testing.T, g *guest.Guest, key string, bound time.Duration, command string) string {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		out, err := g.Try("debian", key, command)
		if err == nil {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("debian never logged in with the seed's key: %v; serial console:\n%s", err, guest.Tail(g.Serial, 40))
		}
		time.Sleep(5 * time.Second)
	}
}
