package e2e

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

// guest is a QEMU VM booted from an artifact; t.Cleanup stops it.
type guest struct {
	sshPort int
	serial  string // the guest's serial console, for failures
}

// bootGuest boots disk (the QEMU arguments attaching it) with a snapshot,
// so the artifact is not changed, on a restricted user network with SSH
// forwarded from a free port of the host's loopback. It returns at once;
// waitSSH waits for the guest. The VM is stopped when the test ends, and
// in any case after bound.
func bootGuest(t *testing.T, name, accel string, disk []string, bound time.Duration) *guest {
	t.Helper()
	g := &guest{sshPort: freePort(t), serial: filepath.Join(t.TempDir(), name+".serial")}
	args := append([]string{
		"-accel", accel, "-m", "1024", "-smp", "1", "-display", "none", "-snapshot",
		"-serial", "file:" + g.serial,
		"-netdev", restrictedNet(strconv.Itoa(g.sshPort), 0), "-device", "virtio-net-pci,netdev=user.0",
	}, disk...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run.Run(ctx, run.Cmd{
			Name: "qemu-system-x86_64", Args: args, Group: true, Grace: 5 * time.Second,
			Timeout: bound, Log: g.serial, Hint: "the boot check's guest did not stop",
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

// waitSSH waits until the guest's sshd sends its banner, at most bound.
func (g *guest) waitSSH(t *testing.T, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if banner, err := sshBanner(g.addr()); err == nil && strings.HasPrefix(banner, "SSH-2.0-") {
			return
		}
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("no SSH banner on %s after %s; serial console:\n%s", g.addr(), bound, tail(g.serial, 30))
}

func (g *guest) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(g.sshPort)) }

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

// run runs command in the guest as user, logging in with the private key
// file keyFile, and returns its stdout; it fails t when it cannot.
func (g *guest) run(t *testing.T, user, keyFile, command string) string {
	t.Helper()
	out, err := g.try(user, keyFile, command)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// try runs command in the guest as user, logging in with the private key
// file keyFile, and returns its stdout, at most after 5 minutes.
func (g *guest) try(user, keyFile, command string) (string, error) {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return "", err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return "", err
	}
	client, err := ssh.Dial("tcp", g.addr(), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // a fresh test guest
		Timeout:         30 * time.Second,
	})
	if err != nil {
		return "", fmt.Errorf("ssh %s@%s: %w", user, g.addr(), err)
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
		return "", fmt.Errorf("ssh %s@%s %q: %w\n%s", user, g.addr(), command, err, errOut.String())
	}
	return out.String(), nil
}

// freePort is a TCP port of the loopback that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
