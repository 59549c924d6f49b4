// Package guest boots a disk image under QEMU for a test: a snapshot, a
// restricted user network with SSH forwarded from the loopback, the serial
// console in a file; a NoCloud seed, SSH logins, and the check that the
// root file system grows to a larger disk. The end-to-end test and the
// Debian test share it.
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

	"gold-standard-images/internal/diskcheck"
	"gold-standard-images/internal/run"
)

// VM is a QEMU VM booted from an artifact; t.Cleanup stops it.
type VM struct {
	SSHPort int
	Serial  string // the guest's serial console, for failures
}

// Boot boots disk (the QEMU arguments attaching it) with a snapshot,
// so the artifact is not changed, on a restricted user network with SSH
// forwarded from a free port of the host's loopback. It returns at once;
// WaitSSH waits for the guest. The VM is stopped when the test ends, and
// in any case after bound.
func Boot(t *testing.T, name, accel string, disk []string, bound time.Duration) *VM {
	t.Helper()
	g := &VM{SSHPort: FreePort(t), Serial: filepath.Join(t.TempDir(), name+".serial")}
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
func (g *VM) WaitSSH(t *testing.T, bound time.Duration) {
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

// Addr is the loopback address SSH of the guest is forwarded from.
func (g *VM) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(g.SSHPort)) }

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
func (g *VM) Run(t *testing.T, user, keyFile, command string) string {
	t.Helper()
	out, err := g.Try(user, keyFile, command)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Try runs command in the guest as user, logging in with the private key
// file keyFile, and returns its stdout, at most after 5 minutes.
func (g *VM) Try(user, keyFile, command string) (string, error) {
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

// RestrictedNet is a QEMU user network with SSH forwarded from the host's
// loopback at sshPort (a port or a Packer template's placeholder) and no
// other way in or out.
func RestrictedNet(sshPort string) string {
	return "user,id=user.0,restrict=on,hostfwd=tcp:127.0.0.1:" + sshPort + "-:22"
}

// Checked is path once diskcheck has found it a disk of format that refers
// to no other file: QEMU would read a backing file of this host into the
// guest.
func Checked(t *testing.T, path, format string) string {
	t.Helper()
	if _, err := diskcheck.Check(context.Background(), path, format, diskcheck.Options{}); err != nil {
		t.Fatal(err)
	}
	return path
}
