//go:build unix

package run

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// parentEnv makes the test binary act as a target that starts commands
// through Run and then waits to be killed (see TestMain).
const parentEnv = "RUN_TEST_PARENT_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(parentEnv); dir != "" {
		actAsParent(dir)
		return
	}
	os.Exit(m.Run())
}

// actAsParent starts a lone command and a process group, each writing its
// sleeper's pid into dir, and blocks.
func actAsParent(dir string) {
	sleeper := `sleep 600 & echo $! > "$1"; wait`
	go Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "echo $$ > \"$1\"; exec sleep 600", "lone", filepath.Join(dir, "lone")}})
	go Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", sleeper, "group", filepath.Join(dir, "group")}, Group: true, Grace: 2 * time.Second})
	select {}
}

func TestCommandsDieWhenTheirParentIsKilled(t *testing.T) {
	dir := t.TempDir()
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), parentEnv+"="+dir)
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	pids := map[string]int{}
	deadline := time.Now().Add(20 * time.Second)
	for _, name := range []string{"lone", "group"} {
		for {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if n, convErr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && convErr == nil {
				pids[name] = n
				t.Cleanup(func() { syscall.Kill(n, syscall.SIGKILL) })
				break
			}
			if time.Now().After(deadline) {
				parent.Process.Kill()
				t.Fatalf("the %s command did not start", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	parent.Process.Kill() // kill -9: no clean-up in the parent
	parent.Wait()
	deadline = time.Now().Add(10 * time.Second)
	for name, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("the %s command's sleeper %d outlived its killed parent", name, pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
