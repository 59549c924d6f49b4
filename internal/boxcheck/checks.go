package boxcheck

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// check is one look at a booted box.
type check struct {
	name string
	run  func(ctx context.Context, v *vagrant, vmName string) Check
}

// checks are the looks every box gets, in order.
var checks = []check{
	{"image record " + RecordFile, recordCheck},
	{"sshd answers", sshdCheck},
	{"sudo works", sudoCheck},
}

func recordCheck(ctx context.Context, v *vagrant, vmName string) Check {
	c := Check{Name: "image record " + RecordFile}
	out, err := v.run(ctx, sshBound, "the guest's sshd stopped answering", "ssh", "--command", "cat "+RecordFile)
	if err != nil {
		c.Err = fmt.Errorf("reading it as vagrant: %w", err)
		return c
	}
	c.Detail, c.Err = checkRecord(out, vmName)
	return c
}

// checkRecord checks the image record's content: key=value lines with
// vm_name, version and build, vm_name being vmName. It returns the record
// in one line.
func checkRecord(content, vmName string) (string, error) {
	fields := map[string]string{}
	var line []string
	for _, l := range strings.Split(strings.TrimSpace(content), "\n") {
		l = strings.TrimSpace(l)
		if k, val, ok := strings.Cut(l, "="); ok {
			fields[k] = val
			line = append(line, l)
		}
	}
	var missing []string
	for _, k := range []string{"vm_name", "version", "build"} {
		if fields[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%s: want vm_name=, version= and build= lines (ansible/site.yml writes them), %s missing; got %q", RecordFile, strings.Join(missing, ", "), strings.TrimSpace(content))
	}
	if vmName != "" && fields["vm_name"] != vmName {
		return "", fmt.Errorf("%s: vm_name: want %q, got %q", RecordFile, vmName, fields["vm_name"])
	}
	return strings.Join(line, " "), nil
}

// sshdCheck asks vagrant where the guest's sshd is and reads its banner
// from the host, apart from vagrant's own login.
func sshdCheck(ctx context.Context, v *vagrant, _ string) Check {
	c := Check{Name: "sshd answers"}
	out, err := v.run(ctx, sshBound, "vagrant stalled reading the guest's address", "ssh-config")
	if err != nil {
		c.Err = fmt.Errorf("vagrant ssh-config: %w", err)
		return c
	}
	addr, err := sshAddress(out)
	if err != nil {
		c.Err = err
		return c
	}
	banner, err := sshBanner(ctx, addr)
	if err != nil {
		c.Err = err
		return c
	}
	c.Detail = addr + " " + banner
	return c
}

// sshAddress is host:port of the output of vagrant ssh-config.
func sshAddress(sshConfig string) (string, error) {
	host, port := "", "22"
	for _, l := range strings.Split(sshConfig, "\n") {
		k, val, _ := strings.Cut(strings.TrimSpace(l), " ")
		switch k {
		case "HostName":
			host = strings.TrimSpace(val)
		case "Port":
			port = strings.TrimSpace(val)
		}
	}
	if host == "" {
		return "", fmt.Errorf("vagrant ssh-config: no HostName line in %q", sshConfig)
	}
	return net.JoinHostPort(host, port), nil
}

// sshBanner connects to addr and returns the SSH server's identification
// line.
func sshBanner(ctx context.Context, addr string) (string, error) {
	d := net.Dialer{Timeout: 20 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("connecting to sshd at %s: %w", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	line = strings.TrimSpace(line)
	if err != nil || !strings.HasPrefix(line, "SSH-2.0-") {
		return "", fmt.Errorf("reading sshd's banner at %s: want SSH-2.0-..., got %q (%v)", addr, line, err)
	}
	return line, nil
}

func sudoCheck(ctx context.Context, v *vagrant, _ string) Check {
	c := Check{Name: "sudo works"}
	out, err := v.run(ctx, sshBound, "sudo waited for a password", "ssh", "--command", "sudo -n id -u")
	if err != nil {
		c.Err = fmt.Errorf("sudo -n id -u as vagrant: %w (want passwordless sudo for vagrant)", err)
		return c
	}
	if got := strings.TrimSpace(out); got != "0" {
		c.Err = fmt.Errorf("sudo -n id -u as vagrant: want uid 0, got %q", got)
		return c
	}
	c.Detail = "vagrant runs sudo -n as uid 0"
	return c
}
