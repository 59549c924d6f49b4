package devcheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// aptWait is scripts/host/apt-wait.sh of this checkout.
func aptWait(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "host", "apt-wait.sh")
}

// needApt skips where apt's locks cannot be taken (not root, no apt),
// and fails there in CI, which runs as root on Debian.
func needApt(t *testing.T) {
	_, err := exec.LookPath("apt-get")
	if os.Geteuid() == 0 && err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root and apt-get")
	}
	t.Skip("needs root and apt-get")
}

// holdLock takes apt's kind of lock (a whole-file fcntl write lock) on path
// for d, as unattended-upgrades or another apt would.
func holdLock(t *testing.T, path string, d time.Duration) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		f.Close()
		t.Fatalf("locking %s: %v", path, err)
	}
	release := time.AfterFunc(d, func() { f.Close() })
	t.Cleanup(func() { release.Stop(); f.Close() })
}

func runAptWait(t *testing.T, env []string, args ...string) (stderr string, took time.Duration, err error) {
	cmd := exec.Command(aptWait(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	start := time.Now()
	err = cmd.Run()
	return errb.String(), time.Since(start), err
}

func TestAptWaitsForTheLocksAnotherAptHoldsAndSaysWho(t *testing.T) {
	needApt(t)
	cases := []struct {
		name, lock string
		args       []string
	}{
		// apt-get check takes the dpkg lock as install does, and changes nothing.
		{"dpkg lock", "/var/lib/dpkg/lock-frontend", []string{"check"}},
		// apt-get itself does not wait for this one: apt-wait.sh retries.
		{"lists lock", "/var/lib/apt/lists/lock", []string{"-qq", "update"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const held = 4 * time.Second
			holdLock(t, c.lock, held)
			stderr, took, err := runAptWait(t, []string{"APT_LOCK_TIMEOUT=120"}, c.args...)
			if err != nil {
				t.Fatalf("apt-get %s failed while another held %s for %s: %v\n%s", c.args, c.lock, held, err, stderr)
			}
			if took < held-time.Second {
				t.Fatalf("apt-get %s ended after %s, before the lock was let go: it did not take %s", c.args, took, c.lock)
			}
			if !strings.Contains(stderr, "holds "+c.lock+"; waiting up to 120s") {
				t.Fatalf("apt-wait.sh did not say what it waited for:\n%s", stderr)
			}
			if strings.Count(stderr, "waiting up to") != 1 || strings.Contains(stderr, "Could not get lock") {
				t.Fatalf("apt-wait.sh should say it once, and not repeat apt's lock errors:\n%s", stderr)
			}
		})
	}
}

func TestAptGivesUpOnALockHeldPastItsBoundAndSaysSo(t *testing.T) {
	needApt(t)
	holdLock(t, "/var/lib/apt/lists/lock", 30*time.Second)
	stderr, took, err := runAptWait(t, []string{"APT_LOCK_TIMEOUT=3"}, "-qq", "update")
	if err == nil {
		t.Fatal("apt-get update succeeded while the lists lock was held")
	}
	if took > 20*time.Second {
		t.Fatalf("gave up after %s, not near its 3 s bound", took)
	}
	if !strings.Contains(stderr, "Could not get lock /var/lib/apt/lists/lock") || !strings.Contains(stderr, "gave up waiting 3s") {
		t.Fatalf("the error should name the lock and the bound:\n%s", stderr)
	}
}
