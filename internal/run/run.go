// Package run runs external commands (Packer, qemu-img, ansible, container
// engines) the one safe way: with a context, SIGINT on cancel so the tool can
// clean up, a bounded wait, output teed to a log, and arguments passed as-is
// (no shell, no $VAR expansion, so crypted passwords and URLs survive).
package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"gold-standard-images/internal/redact"
)

// Cmd describes one command to run.
type Cmd struct {
	Name string   // program, looked up in PATH
	Args []string // arguments, passed as they are
	Dir  string   // working directory; empty is the current one
	Env  []string // extra KEY=value entries added to the environment
	// Output receives stdout and stderr as they come (a log file, os.Stderr
	// with -v); nil discards them. The last lines are kept for errors anyway.
	Output io.Writer
	// Stdin, when set, is the command's standard input (a script fed as
	// the command answers, as guestfish reads one); nil is the null device.
	// Run ends when the command does, read to its end or not: a reader
	// that is never closed does not hold Run once the command has died.
	Stdin io.Reader
	// Stdout, when set, receives stdout alone (for commands whose output is
	// data); stderr still goes to Output.
	Stdout io.Writer
	// Grace is how long to wait after SIGINT before killing; 0 means 30s.
	Grace time.Duration
	// Direct, with an *os.File Output (a log) and no Stdout, gives the file
	// to the command as its stdout and stderr instead of a pipe through this
	// process, so the command can go on writing (say, cleaning up after
	// SIGINT) even if this process has exited (within Grace, with Group);
	// the error's tail is then read back from the file.
	Direct bool
	// Group runs the command in a process group of its own and, on cancel,
	// sends SIGINT to the whole group, as a terminal's Ctrl-C does; what is
	// left of the group when the cancelled command ends is killed. Packer
	// needs it: its outer (panicwrap) process ignores SIGINT and relies on
	// the terminal delivering it to the real Packer process and children.
	Group bool
	// Reap runs the command in a process group of its own (as Group does)
	// and kills what is left of the group when the command ends, however it
	// ends: a test runner whose timed-out test left a tool running.
	Reap bool
	// Timeout bounds the command; 0 is no bound. Past it the command (with
	// its whole process group: a Timeout implies Group) is interrupted, then
	// killed, and Run returns a *TimeoutError naming Log and Hint.
	Timeout time.Duration
	// Log names where the command's output is kept, for the timeout error.
	Log string
	// Hint is the likely cause of a timeout, said in its error.
	Hint string
}

// Error is a failed command, with the tail of its output.
type Error struct {
	Cmd  string
	Err  error
	Tail string
}

// Error names the command and its failure, then its last output lines.
func (e *Error) Error() string {
	msg := fmt.Sprintf("running %s: %v", e.Cmd, e.Err)
	if e.Tail != "" {
		msg += "\n" + e.Tail
	}
	return redact.Text(msg)
}

// Unwrap returns the process error.
func (e *Error) Unwrap() error { return e.Err }

// TimeoutError is a command that ran past its Cmd.Timeout and was stopped.
type TimeoutError struct {
	Cmd     string
	Timeout time.Duration
	Log     string // where its output is kept; may be empty
	Hint    string // likely cause; may be empty
	Tail    string // its last output lines
}

// Error names the command, its bound, its log and the likely cause.
func (e *TimeoutError) Error() string {
	msg := fmt.Sprintf("%s did not finish within %s and was stopped", e.Cmd, e.Timeout)
	if e.Log != "" {
		msg += "; its output is in " + e.Log
	}
	if e.Hint != "" {
		msg += "; likely cause: " + e.Hint
	}
	if e.Tail != "" {
		msg += "\n" + e.Tail
	}
	return redact.Text(msg)
}

// Unwrap makes a TimeoutError a context.DeadlineExceeded.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// Run runs c and waits for it. When ctx is cancelled the process gets SIGINT,
// then SIGKILL after the grace period, and Run returns ctx's error. When this
// process dies without cleaning up (kill -9), the command dies too: on Linux
// a lone command gets SIGKILL from the kernel; a process group gets SIGINT,
// then SIGKILL after the grace period, from a small watcher.
func Run(ctx context.Context, c Cmd) error {
	parent := ctx
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
		c.Group = true
	}
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir = c.Dir
	feed, err := stdinOf(cmd, c.Stdin)
	if err != nil {
		return fmt.Errorf("running %s: %w", c.Name, err)
	}
	defer feed.stop()
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	grouped := c.Group || c.Reap
	if grouped {
		setGroup(cmd)
	} else {
		dieWithParent(cmd)
	}
	cmd.WaitDelay = c.Grace
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 30 * time.Second
	}
	tail := &tailBuffer{max: 20}
	out := io.Writer(tail)
	if c.Output != nil {
		out = io.MultiWriter(c.Output, tail)
	}
	cmd.Stderr = out
	cmd.Stdout = out
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	}
	direct, isFile := c.Output.(*os.File)
	tailFrom := int64(-1)
	if c.Direct && isFile && c.Stdout == nil {
		if off, err := direct.Seek(0, io.SeekCurrent); err == nil {
			tailFrom = off
			cmd.Stdout, cmd.Stderr = direct, direct
		}
	}
	err = cmd.Start()
	feed.started(err == nil)
	if err == nil {
		if grouped {
			// Should this process die unannounced (kill -9), the group is
			// interrupted, then killed after the grace period.
			defer watchGroup(cmd.Process.Pid, cmd.WaitDelay)()
		}
		err = cmd.Wait()
		feed.stop()
	}
	if tailFrom >= 0 {
		readTail(direct, tailFrom, tail)
	}
	if cmd.Process != nil && (c.Reap || c.Group && ctx.Err() != nil) {
		killGroup(cmd.Process.Pid)
	}
	if ctx.Err() != nil && parent.Err() == nil {
		return &TimeoutError{Cmd: c.Name, Timeout: c.Timeout, Log: c.Log, Hint: c.Hint, Tail: tail.String()}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("running %s: %w", c.Name, ctx.Err())
	}
	if err != nil {
		return &Error{Cmd: c.Name + " " + strings.Join(firstArgs(c.Args, 2), " "), Err: err, Tail: tail.String()}
	}
	return nil
}

// feeder copies a reader into a command's standard input through a pipe
// of its own, in a goroutine Run does not wait for (exec.Cmd's own copy is
// waited for, and one blocked reading a reader nobody closes, such as a
// session's io.Pipe, blocks Wait for ever after the command died).
type feeder struct {
	r, w *os.File
	src  io.Reader
	once sync.Once
}

// stdinOf sets cmd's standard input to in: a file as it is, another reader
// through a feeder.
func stdinOf(cmd *exec.Cmd, in io.Reader) (*feeder, error) {
	if f, ok := in.(*os.File); ok || in == nil {
		if ok {
			cmd.Stdin = f
		}
		return &feeder{}, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdin = r
	return &feeder{r: r, w: w, src: in}, nil
}

// started closes this process's copy of the pipe's reading end (the
// command has its own) and starts the copy when the command runs.
func (f *feeder) started(ok bool) {
	if f.r == nil {
		return
	}
	f.r.Close()
	if ok {
		go func() {
			io.Copy(f.w, f.src) // a write to a command that has ended fails (EPIPE, or the pipe closed by stop)
			f.stop()
		}()
	}
}

// stop closes the writing end: the command sees the end of its input, and
// a copy still running fails at its next write.
func (f *feeder) stop() {
	if f.w != nil {
		f.once.Do(func() { f.w.Close() })
	}
}

// Output runs c and returns its stdout.
func Output(ctx context.Context, c Cmd) ([]byte, error) {
	var buf bytes.Buffer
	c.Stdout = &buf
	err := Run(ctx, c)
	return buf.Bytes(), err
}

// readTail copies the end of what was written to f since offset from to t.
func readTail(f *os.File, from int64, t *tailBuffer) {
	end, err := f.Seek(0, io.SeekCurrent)
	if err != nil || end <= from {
		return
	}
	from = max(from, end-8192)
	buf := make([]byte, end-from)
	n, _ := f.ReadAt(buf, from)
	t.Write(buf[:n])
}

func firstArgs(args []string, n int) []string {
	if len(args) > n {
		return args[:n]
	}
	return args
}

// tailBuffer keeps the last max lines written to it.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  string
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	text := t.part + string(p)
	parts := strings.Split(text, "\n")
	t.part = parts[len(parts)-1]
	for _, l := range parts[:len(parts)-1] {
		t.lines = append(t.lines, l)
		if len(t.lines) > t.max {
			t.lines = t.lines[1:]
		}
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if t.part != "" {
		lines = append(append([]string(nil), lines...), t.part)
	}
	return strings.Join(lines, "\n")
}

// IsNotFound reports whether err says the program is not installed.
func IsNotFound(err error) bool {
	return errors.Is(err, exec.ErrNotFound)
}
