package debian

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"gold-standard-images/internal/inspect"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sshkeys"
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
		t.Fatalf("%v\ntools log:\n%s", err, tail(s.Log, 40))
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
	seed := noCloudSeed(ctx, t, dir, strings.TrimSpace(string(pub)))
	key := filepath.Join(dir, "keys", "cloud")

	firmware := map[string][]string{"bios": nil}
	if _, err := os.Stat(ovmf); err == nil {
		firmware["uefi"] = []string{"-drive", "if=pflash,format=raw,readonly=on,file=" + ovmf}
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
	mustRun(ctx, t, run.Cmd{Name: "qemu-img", Args: []string{"create", "-q", "-f", "qcow2", "-b", disk, "-F", "qcow2", overlay, fmt.Sprintf("%dM", grownMiB)}, Timeout: time.Minute})
	g := bootGuest(t, name, accel, append(fw,
		"-drive", "file="+overlay+",format=qcow2,if=virtio",
		"-drive", "file="+seed+",format=raw,if=virtio,readonly=on"))
	out := g.login(t, key, 15*time.Minute, "cloud-init status --wait; systemctl --failed --no-legend --plain; echo ==; df -B1M --output=size / | tail -n 1; lsblk -bdno SIZE /dev/vda; cat /etc/gold-standard-image; test -d /sys/firmware/efi && echo uefi || echo bios")
	t.Logf("%s: logged in as debian after %s:\n%s", name, time.Since(start).Round(time.Second), out)
	head, rest, _ := strings.Cut(out, "==\n")
	if !strings.Contains(head, "status: done") {
		t.Errorf("%s: cloud-init is not done: %q", name, head)
	}
	if failed := strings.TrimSpace(strings.Replace(head, "status: done", "", 1)); failed != "" {
		t.Errorf("%s: failed units:\n%s\nserial console:\n%s", name, failed, tail(g.serial, 40))
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

// noCloudSeed writes a NoCloud seed (a vfat image labelled cidata, made
// with mkfs.vfat -C and mcopy: no loop device) giving the default user
// the public key pub.
func noCloudSeed(ctx context.Context, t *testing.T, dir, pub string) string {
	t.Helper()
	files := map[string]string{
		"meta-data": "instance-id: gsi-debian-test\nlocal-hostname: gsi-debian\n",
		"user-data": fmt.Sprintf("#cloud-config\nssh_authorized_keys:\n  - %s\n", pub),
	}
	for n, body := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	seed := filepath.Join(dir, "seed.img")
	mustRun(ctx, t, run.Cmd{Name: "mkfs.vfat", Args: []string{"-C", "-n", "CIDATA", seed, "2048"}, Timeout: time.Minute})
	mustRun(ctx, t, run.Cmd{Name: "mcopy", Args: []string{"-i", seed, filepath.Join(dir, "meta-data"), filepath.Join(dir, "user-data"), "::"}, Timeout: time.Minute})
	return seed
}

func mustRun(ctx context.Context, t *testing.T, c run.Cmd) {
	t.Helper()
	if err := run.Run(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// guest is a QEMU guest with its SSH port on the loopback.
type guest struct {
	sshPort int
	serial  string
}

// bootGuest starts QEMU with disk arguments, the serial console to a file
// and the network restricted to SSH from the loopback; the test's end
// stops it.
func bootGuest(t *testing.T, name, accel string, disk []string) *guest {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &guest{sshPort: l.Addr().(*net.TCPAddr).Port, serial: filepath.Join(t.TempDir(), name+".serial")}
	l.Close()
	args := append([]string{
		"-accel", accel, "-m", "1024", "-smp", "1", "-display", "none",
		"-serial", "file:" + g.serial,
		"-netdev", fmt.Sprintf("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22", g.sshPort),
		"-device", "virtio-net-pci,netdev=n0",
	}, disk...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run.Run(ctx, run.Cmd{Name: "qemu-system-x86_64", Args: args, Group: true, Grace: 5 * time.Second,
			Timeout: 20 * time.Minute, Log: g.serial, Hint: "the boot check's guest did not stop"})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Logf("%s: QEMU: %v", name, err)
		}
	})
	return g
}

// login runs command as debian with the private key file key, trying
// until cloud-init has written the key, at most bound; it fails t with
// the serial console's end when it never can.
func (g *guest) login(t *testing.T, key string, bound time.Duration, command string) string {
	t.Helper()
	pem, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(g.sshPort))
	deadline := time.Now().Add(bound)
	for {
		out, err := sshRun(addr, signer, command)
		if err == nil {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("debian never logged in on %s with the seed's key: %v; serial console:\n%s", addr, err, tail(g.serial, 40))
		}
		time.Sleep(5 * time.Second)
	}
}

// sshRun runs command over SSH as debian; QEMU accepts connections before
// the guest listens, so only a session proves sshd and the key.
func sshRun(addr string, signer ssh.Signer, command string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	conn, chans, reqs, err := ssh.NewClientConn(c, addr, &ssh.ClientConfig{
		User: "debian", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // a fresh test guest
		Timeout:         30 * time.Second,
	})
	if err != nil {
		c.Close()
		return "", err
	}
	client := ssh.NewClient(conn, chans, reqs)
	defer client.Close()
	s, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	var out, errOut bytes.Buffer
	s.Stdout, s.Stderr = &out, &errOut
	if err := s.Run(command); err != nil {
		return "", fmt.Errorf("%q: %w\n%s", command, err, errOut.String())
	}
	return out.String(), nil
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(io.LimitReader(f, 64<<20))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
