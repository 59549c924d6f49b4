package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/run/runtest"
)

func TestRunPassesArgumentsWithoutExpansion(t *testing.T) {
	var out bytes.Buffer
	arg := `$6$salt$hash and $HOME and "quotes"`
	if err := Run(context.Background(), Cmd{Name: "printf", Args: []string{"%s", arg}, Output: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != arg {
		t.Errorf("got %q, want %q", out.String(), arg)
	}
}

func TestRunReportsFailureWithOutputTail(t *testing.T) {
	err := Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "echo first; echo boom >&2; exit 3"}})
	var runErr *Error
	if !errors.As(err, &runErr) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error lacks status or output: %v", err)
	}
}

func TestRunMissingProgramIsNotFound(t *testing.T) {
	err := Run(context.Background(), Cmd{Name: "no-such-program-here"})
	if !IsNotFound(err) {
		t.Errorf("err = %v, want not found", err)
	}
}

func TestCancelSendsInterruptSoTheToolCanCleanUp(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "got-int")
	ready := filepath.Join(dir, "ready")
	script := `trap 'echo int > "$0.int"; exit 130' INT; touch "$1"; while :; do sleep 0.05; done`
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Cmd{Name: "bash", Args: []string{"-c", script, marker, ready}, Grace: 5 * time.Second})
	}()
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(marker + ".int"); err != nil {
		t.Errorf("the command did not receive SIGINT: %v", err)
	}
}

func TestOutputSeparatesStdout(t *testing.T) {
	var log bytes.Buffer
	out, err := Output(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "echo data; echo noise >&2"}, Output: &log})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "data\n" || log.String() != "noise\n" {
		t.Errorf("stdout %q, log %q", out, log.String())
	}
}

func TestStdinIsTheCommandsInput(t *testing.T) {
	out, err := Output(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "read a; read b; echo \"$b $a\""}, Stdin: strings.NewReader("one\ntwo\n"), Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "two one" {
		t.Errorf("got %q, want %q", got, "two one")
	}
}

// A command fed from a reader that is never closed (a session's pipe, fed
// as the command answers) and that dies early ends Run with its error: Run
// must not wait for the copy into the dead command's input, which waits
// for the reader (the deadlock of artifacts:inspect when guestfish died).
func TestACommandThatDiesWhileItsInputStaysOpenEndsRun(t *testing.T) {
	in, feed := io.Pipe()
	defer feed.Close()
	go io.WriteString(feed, "one line\n")
	err := runtest.Within(t, 2*time.Minute, func() error {
		return Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "read first; echo dying >&2; exit 3"}, Stdin: in, Grace: time.Second})
	})
	if !strings.Contains(fmt.Sprint(err), "exit status 3") || !strings.Contains(fmt.Sprint(err), "dying") {
		t.Errorf("err = %v, want the command's exit status and its last words", err)
	}
}
