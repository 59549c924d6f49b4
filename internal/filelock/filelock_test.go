package filelock

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestASecondHolderWaitsSaysSoOnceAndGetsTheLockWhenTheFirstLetsGo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.lock")
	unlock, err := Lock(context.Background(), path, "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	var said atomic.Int32
	got := make(chan func(), 1)
	go func() {
		u, err := Lock(context.Background(), path, "x", func() { said.Add(1) })
		if err != nil {
			t.Error(err)
		}
		got <- u
	}()
	time.Sleep(5 * poll)
	select {
	case <-got:
		t.Fatal("the second Lock returned while the first held the lock")
	default:
	}
	unlock()
	select {
	case u := <-got:
		u()
	case <-time.After(10 * time.Second):
		t.Fatal("the second Lock did not get the lock after the first let go")
	}
	if n := said.Load(); n != 1 {
		t.Fatalf("waiting was called %d times, want 1", n)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the lock file is left after unlock: %v", err)
	}
}

func TestAWaitEndsWithTheContextNamingWhatItWaitedFor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(context.Background(), path, "the fixture image", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*poll)
	defer cancel()
	_, err = Lock(ctx, path, "the fixture image", nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for the fixture image") {
		t.Fatalf("got %v, want a deadline error naming what it waited for", err)
	}
}

// A holder killed with SIGKILL cannot unlock or remove the lock file; the
// kernel drops its flock, so the next Lock takes the file it left.
func TestALockHeldByAKilledProcessIsTakenOver(t *testing.T) {
	if path := os.Getenv("FILELOCK_TEST_HOLD"); path != "" {
		if _, err := Lock(context.Background(), path, "x", nil); err != nil {
			os.Exit(2)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Hour)
	}
	path := filepath.Join(t.TempDir(), "x.lock")
	child := exec.Command(os.Args[0], "-test.run=^TestALockHeldByAKilledProcessIsTakenOver$")
	child.Env = append(os.Environ(), "FILELOCK_TEST_HOLD="+path)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("the child did not take the lock: %q %v", buf, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*poll)
	_, err = Lock(ctx, path, "x", nil)
	cancel()
	if err == nil {
		t.Fatal("took the lock while the child held it")
	}
	child.Process.Kill()
	child.Wait()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the killed child's lock file should still be there: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unlock, err := Lock(ctx, path, "x", nil)
	if err != nil {
		t.Fatalf("the lock of a killed holder was not taken over: %v", err)
	}
	unlock()
}
