package boxcheck

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"gold-standard-images/internal/run"
)

// The system libvirtd's and virtlogd's sockets.
var (
	systemSockets  = []string{"/run/libvirt/libvirt-sock", "/var/run/libvirt/libvirt-sock"}
	virtlogdSocket = "/run/libvirt/virtlogd-sock"
)

const (
	daemonBound = 4 * time.Hour   // a libvirtd or virtlogd the check started
	virshBound  = 2 * time.Minute // one virsh command
	daemonWait  = time.Minute     // for a started daemon's socket
)

// libvirtHost is the libvirt a check uses: the system's libvirtd, or one it
// started (with virtlogd when that is not running) on a socket of its own;
// a transient storage pool in the work folder; names for an isolated
// management network and the domain that vagrant-libvirt makes and removes.
type libvirtHost struct {
	socket  string // empty: the system libvirtd
	uri     string
	prefix  string // gsi-boxcheck-<random>: pool and network name
	pool    string
	network string
	subnet  string
	log     io.Writer
	daemons []func() // stop the daemons started, last first
}

// startLibvirt gets libvirt ready for one box under dir. On error the
// returned host (when not nil) still needs stop.
func startLibvirt(ctx context.Context, dir string, log io.Writer) (*libvirtHost, error) {
	var id [4]byte
	rand.Read(id[:])
	name := "gsi-boxcheck-" + hex.EncodeToString(id[:])
	h := &libvirtHost{uri: "qemu:///system", prefix: name + "-", pool: name, network: name, log: log}
	if !answers(systemSockets...) {
		if err := h.startDaemons(ctx, dir); err != nil {
			return h, err
		}
	}
	subnet, err := freeSubnet()
	if err != nil {
		return h, err
	}
	h.subnet = subnet
	poolDir := filepath.Join(dir, "pool")
	if err := os.MkdirAll(poolDir, 0o711); err != nil {
		return h, err
	}
	if err := h.virsh(ctx, "pool-create-as", h.pool, "dir", "--target", poolDir); err != nil {
		h.pool = ""
		return h, fmt.Errorf("making a libvirt storage pool in %q: %w", poolDir, err)
	}
	return h, nil
}

// startDaemons starts libvirtd on a socket in dir, and virtlogd when its
// system socket does not answer (libvirtd needs it to start a guest).
func (h *libvirtHost) startDaemons(ctx context.Context, dir string) error {
	if os.Geteuid() != 0 {
		return errors.New("libvirtd is not running: start it (systemctl start libvirtd), or run as root so that boxes:check starts one of its own")
	}
	if _, err := exec.LookPath("libvirtd"); err != nil {
		return errors.New("libvirtd is not running and not installed: apt-get install libvirt-daemon-system")
	}
	if !answers(virtlogdSocket) {
		if err := h.startDaemon(ctx, "virtlogd", nil, virtlogdSocket); err != nil {
			return err
		}
	}
	sockDir := filepath.Join(dir, "libvirt")
	if err := os.MkdirAll(sockDir, 0o700); err != nil {
		return err
	}
	conf := filepath.Join(sockDir, "libvirtd.conf")
	data := fmt.Sprintf("unix_sock_dir = %q\nunix_sock_rw_perms = \"0700\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n", sockDir)
	if err := os.WriteFile(conf, []byte(data), 0o600); err != nil {
		return err
	}
	h.socket = filepath.Join(sockDir, "libvirt-sock")
	h.uri = "qemu:///system?socket=" + h.socket
	return h.startDaemon(ctx, "libvirtd", []string{"--config", conf, "--pid-file", filepath.Join(sockDir, "libvirtd.pid")}, h.socket)
}

// startDaemon runs name in the background until stop, and waits for its
// socket to answer.
func (h *libvirtHost) startDaemon(ctx context.Context, name string, args []string, socket string) error {
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() {
		done <- run.Run(dctx, run.Cmd{
			Name: name, Args: args, Output: h.log, Timeout: daemonBound, Grace: 20 * time.Second,
			Hint: name + " was still running when the check's bound ran out",
		})
	}()
	h.daemons = append(h.daemons, func() { cancel(); <-done })
	deadline := time.Now().Add(daemonWait)
	for !answers(socket) {
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("starting %s: it ended before its socket %s answered: %v", name, socket, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("starting %s: its socket %s did not answer within %s", name, socket, daemonWait)
		}
	}
	return nil
}

// stop removes what vagrant may have left after a failure (the domain, the
// network), the pool, and stops the daemons the check started.
func (h *libvirtHost) stop(ctx context.Context) {
	if h.subnet != "" {
		dom := h.prefix + "default"
		h.virsh(ctx, "destroy", dom)
		h.virsh(ctx, "undefine", dom, "--nvram")
		h.virsh(ctx, "net-destroy", h.network)
		h.virsh(ctx, "net-undefine", h.network)
	}
	if h.pool != "" {
		h.virsh(ctx, "pool-destroy", h.pool)
	}
	for i := len(h.daemons) - 1; i >= 0; i-- {
		h.daemons[i]()
	}
}

func (h *libvirtHost) virsh(ctx context.Context, args ...string) error {
	return run.Run(ctx, run.Cmd{
		Name: "virsh", Args: append([]string{"-c", h.uri}, args...), Output: h.log,
		Timeout: virshBound, Hint: "libvirtd does not answer",
	})
}

// answers reports whether one of the unix sockets accepts a connection.
func answers(sockets ...string) bool {
	for _, s := range sockets {
		if c, err := net.DialTimeout("unix", s, 2*time.Second); err == nil {
			c.Close()
			return true
		}
	}
	return false
}

// freeSubnet is a 192.168.x.0/24 that no interface of this host is in, for
// the isolated management network.
func freeSubnet() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("listing this host's addresses: %w", err)
	}
	used := map[byte]bool{}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip := n.IP.To4(); ip != nil && ip[0] == 192 && ip[1] == 168 {
				used[ip[2]] = true
			}
		}
	}
	var r [1]byte
	rand.Read(r[:])
	for i := range 100 {
		x := byte(130 + (int(r[0])+i)%100)
		if !used[x] {
			return fmt.Sprintf("192.168.%d.0/24", x), nil
		}
	}
	return "", errors.New("finding a free 192.168.x.0/24 for the libvirt network: 192.168.130-229 are all in use on this host")
}

// libvirtAvailable reports whether libvirt can run here: a libvirtd
// answers, or one is installed that the check can start.
func libvirtAvailable() bool {
	if answers(systemSockets...) {
		return true
	}
	_, err := exec.LookPath("libvirtd")
	return err == nil
}
