//go:build unix

package run

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// parentScript traps SIGINT itself (like Packer's outer process, which
// ignores it) and waits for a child until the child is gone; it says so on
// its way out. Only a signal to the whole group ends the child.
const parentScript = `
trap 'echo parent got SIGINT' INT
# A background job of a script starts with SIGINT ignored: restore it, as
# the programs Packer starts (qemu, plugins) have it.
python3 -c 'import os, signal, sys, time; signal.signal(signal.SIGINT, signal.SIG_DFL); open(sys.argv[1], "w").write(str(os.getpid())); time.sleep(600)' "$1" &
child=$!
while kill -0 $child 2>/dev/null; do wait $child; done
echo child gone
`

func TestGroupInterruptsTheWholeProcessGroupOnCancel(t *testing.T) {
	for _, tc := range []struct {
		name      string
		group     bool
		childGone bool
	}{
		{"with Group the child gets SIGINT too", true, true},
		{"without Group only the parent does and is killed after the grace period", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := filepath.Join(t.TempDir(), "started")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out bytes.Buffer
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, Cmd{Name: "bash", Args: []string{"-c", parentScript, "parent", started}, Output: &out, Grace: 2 * time.Second, Group: tc.group})
			}()
			for {
				if pid, err := os.ReadFile(started); err == nil && len(pid) > 0 {
					// The child outlives its killed parent without Group: end it.
					t.Cleanup(func() {
						if n, err := strconv.Atoi(string(pid)); err == nil {
							syscall.Kill(n, syscall.SIGKILL)
						}
					})
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			err := <-done
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
			if got := strings.Contains(out.String(), "child gone"); got != tc.childGone {
				t.Errorf("child gone: %v, want %v; output:\n%s", got, tc.childGone, out.String())
			}
		})
	}
}

func TestDirectOutputGoesStraightToTheFileAndKeepsTheTailForErrors(t *testing.T) {
	// "one" is printed only if stdout and stderr are the file itself, not pipes.
	log, err := os.Create(filepath.Join(t.TempDir(), "build.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	log.WriteString("# header\n")
	err = Run(context.Background(), Cmd{Name: "bash", Args: []string{"-c", "test -f /dev/stdout && test -f /dev/stderr && echo one; echo two >&2; exit 3"}, Output: log, Direct: true})
	var runErr *Error
	if !errors.As(err, &runErr) {
		t.Fatalf("error %v, want a *run.Error", err)
	}
	if runErr.Tail != "one\ntwo" {
		t.Errorf("tail %q, want %q", runErr.Tail, "one\ntwo")
	}
	log.WriteString("# trailer\n")
	data, _ := os.ReadFile(log.Name())
	if want := "# header\none\ntwo\n# trailer\n"; string(data) != want {
		t.Errorf("log %q, want %q", data, want)
	}
}

func TestTimeoutStopsAHungCommandAndLeavesNoProcessBehind(t *testing.T) {
	// The parent and its child both ignore SIGINT, as a hung tool may: only
	// the kill of the whole group after the grace period ends them.
	started := filepath.Join(t.TempDir(), "started")
	script := `trap '' INT
python3 -c 'import os, sys, time; open(sys.argv[1], "w").write(str(os.getpid())); time.sleep(600)' "$1" &
wait`
	err := Run(context.Background(), Cmd{Name: "bash", Args: []string{"-c", script, "hung", started},
		Timeout: time.Second, Grace: time.Second, Log: "logs/hung.log", Hint: "a test that hangs on purpose"})
	var timeout *TimeoutError
	if !errors.As(err, &timeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a *TimeoutError that is a context.DeadlineExceeded", err)
	}
	for _, want := range []string{"bash did not finish within 1s", "logs/hung.log", "a test that hangs on purpose"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	pid, err := os.ReadFile(started)
	if err != nil {
		t.Fatalf("the child never started: %v", err)
	}
	n, err := strconv.Atoi(string(pid))
	if err != nil {
		t.Fatal(err)
	}
	// Killed processes may linger briefly as zombies until reaped by init.
	deadline := time.Now().Add(5 * time.Second)
	for alive(n) {
		if time.Now().After(deadline) {
			syscall.Kill(n, syscall.SIGKILL)
			t.Fatalf("the child %d of the timed-out command is still running", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func TestReapKillsWhatTheCommandLeftRunning(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reap     bool
		leftOver bool
	}{
		{"with Reap nothing is left", true, false},
		{"without Reap the child outlives the command", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := filepath.Join(t.TempDir(), "started")
			script := `python3 -c 'import os, sys, time; open(sys.argv[1], "w").write(str(os.getpid())); time.sleep(600)' "$1" >/dev/null 2>&1 &
while [ ! -s "$1" ]; do sleep 0.01; done`
			if err := Run(context.Background(), Cmd{Name: "bash", Args: []string{"-c", script, "leaver", started}, Reap: tc.reap}); err != nil {
				t.Fatal(err)
			}
			pid, err := os.ReadFile(started)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := strconv.Atoi(string(pid))
			t.Cleanup(func() { syscall.Kill(n, syscall.SIGKILL) })
			deadline := time.Now().Add(5 * time.Second)
			for alive(n) && !tc.leftOver && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if got := alive(n); got != tc.leftOver {
				t.Errorf("child alive: %v, want %v", got, tc.leftOver)
			}
		})
	}
}
