// Package guest boots test guests under QEMU and talks to them: a
// NoCloud seed for cloud-init, SSH on the loopback, the serial console in
// a file for failures. The e2e test and the Debian disk test use it.
package guest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"gold-standard-images/internal/run"
)

// Guest is a QEMU VM booted from an artifact; t.Cleanup stops it.
type Guest struct {
	SSHPort int
	Serial  string // the guest's serial console, for failures
}

// RestrictedNet is the QEMU user network of a test guest: SSH from the
// host's loopback at sshPort, and nothing else.
func RestrictedNet(sshPort string) string {
	return "user,id=user.0,restrict=on,hostfwd=tcp:127.0.0.1:" + sshPort + "-:22"
}

// Boot boots disk (the QEMU arguments attaching it, firmware included)
// with a snapshot, so the artifact is not changed, on a restricted user
// network with SSH forwarded from a free port of the host's loopback. It
// returns at once; WaitSSH waits for the guest. The VM is stopped when the
// test ends, and in any case after bound.
func Boot(t *testing.T, name, accel string, disk []string, bound time.Duration) *Guest {
	t.Helper()
	g := &Guest{SSHPort: FreePort(t), Serial: filepath.Join(t.TempDir(), name+".serial")}
	args := append([]string{
		"-accel", accel, "-m", "1024", "-smp", "1", "-display", "none", "-snapshot",
		"-serial", "file:" + g.Serial,
		"-netdev", RestrictedNet(strconv.Itoa(g.SSHPort)), "-device", "virtio-net-pci,netdev=user.0",
	}, disk...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run.Run(ctx, run.Cmd{
			Name: "qemu-system-x86_64", Args: args, Group: true, Grace: 5 * time.Second,
			Timeout: bound, Log: g.Serial, Hint: "the boot check's guest did not stop",
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Logf("%s: QEMU: %v", name, err)
		}
	})
	return g
}

// WaitSSH waits until the guest's sshd sends its banner, at most bound.
func (g *Guest) WaitSSH(t *testing.T, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if banner, err := sshBanner(g.Addr()); err == nil && strings.HasPrefix(banner, "SSH-2.0-") {
			return
		}
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("no SSH banner on %s after %s; serial console:\n%s", g.Addr(), bound, Tail(g.Serial, 30))
}

// Addr is the guest's SSH address on the loopback.
func (g *Guest) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(g.SSHPort)) }

// sshBanner reads the first line an SSH server sends. QEMU accepts the
// connection before the guest listens, so only the banner proves sshd.
func sshBanner(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return bufio.NewReader(c).ReadString('\n')
}

// Run runs command in the guest as user, logging in with the private key
// file keyFile, and returns its stdout; it fails t when it cannot.
func (g *Guest) Run(t *testing.T, user, keyFile, command string) string {
	t.Helper()
	out, err := g.Try(user, keyFile, command)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Try runs command in the guest as user, logging in with the private key
// file keyFile, and returns its stdout, at most after 5 minutes.
func (g *Guest) Try(user, keyFile, command string) (string, error) {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return "", err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return "", err
	}
	client, err := ssh.Dial("tcp", g.Addr(), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // a fresh test guest
		Timeout:         30 * time.Second,
	})
	if err != nil {
		return "", fmt.Errorf("ssh %s@%s: %w", user, g.Addr(), err)
	}
	defer client.Close()
	s, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	var out, errOut bytes.Buffer
	s.Stdout, s.Stderr = &out, &errOut
	done := make(chan error, 1)
	go func() { done <- s.Run(command) }()
	select {
	case err = <-done:
	case <-time.After(5 * time.Minute):
		err = errors.New("timed out after 5m")
	}
	if err != nil {
		return "", fmt.Errorf("ssh %s@%s %q: %w\n%s", user, g.Addr(), command, err, errOut.String())
	}
	return out.String(), nil
}

// NoCloudSeed writes a NoCloud seed (a vfat image labelled cidata, made
// with mkfs.vfat -C and mcopy: no loop mount) with metaData and userData
// in dir, and returns its path.
func NoCloudSeed(ctx context.Context, t *testing.T, dir, metaData, userData string) string {
	t.Helper()
	files := map[string]string{"meta-data": metaData, "user-data": userData}
	for n, body := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	seed := filepath.Join(dir, "seed.img")
	MustRun(ctx, t, run.Cmd{Name: "mkfs.vfat", Args: []string{"-C", "-n", "CIDATA", seed, "2048"}, Timeout: time.Minute})
	MustRun(ctx, t, run.Cmd{Name: "mcopy", Args: []string{"-i", seed, filepath.Join(dir, "meta-data"), filepath.Join(dir, "user-data"), "::"}, Timeout: time.Minute})
	return seed
}

// MustRun runs c, failing t when it fails.
func MustRun(ctx context.Context, t *testing.T, c run.Cmd) {
	t.Helper()
	if err := run.Run(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// FreePort is a TCP port of the loopback that was free a moment ago.
func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Tail returns the last n lines of the file at path.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
