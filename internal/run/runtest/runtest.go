// Package runtest gives tests stand-ins for the tools our code drives as
// long-lived children (guestfish sessions), so that a child dying early
// can be shown to end the session, not hang it, and a disk refused before
// any tool opens it can be shown never to reach the tool.
package runtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gold-standard-images/internal/envvar"
)

// Dying is what a DyingTool says before it exits: its name, then this.
const Dying = "stand-in dying early (no operating system found)"

// DyingTool puts a program called name first on PATH for the rest of the
// test: it reads lines lines of its input, says "<name>: "+Dying on stderr
// and exits with status 1 without answering (as guestfish does when it
// finds no operating system, or a disk's backing file is missing). It
// keeps its input open to the end, as a live child would. An error without
// Dying in it shows the tool never ran.
func DyingTool(t *testing.T, name string, lines int) {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\ni=0\nwhile [ $i -lt %d ] && read -r line; do i=$((i+1)); done\necho '%s: %s' >&2\nexit 1\n", lines, name, Dying)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+envvar.Path.Get(os.Getenv))
}

// TCG is a getenv that chooses TCG (QEMU_ACCELERATOR=tcg, so that no KVM
// probe runs) and sets nothing else.
func TCG(name string) string {
	if name == envvar.QEMUAccelerator.Name {
		return "tcg"
	}
	return ""
}

// Within runs call and returns its error, failing the test if call has not
// returned after bound: a hang, told from a slow machine by a bound far
// above any run.
func Within(t *testing.T, bound time.Duration, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(bound):
		t.Fatalf("still running after %s: it hangs", bound)
		return nil
	}
}
