// Package runtest gives tests stand-ins for the tools our code drives as
// long-lived children (guestfish sessions), so that a child dying early
// can be shown to end the session, not hang it.
package runtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gold-standard-images/internal/envvar"
)

// DyingTool puts a program called name first on PATH for the rest of the
// test: it reads lines lines of its input, says why it dies on stderr and
// exits with status 1 without answering (as guestfish does when it finds
// no operating system, or a disk's backing file is missing). It keeps its
// input open to the end, as a live child would.
func DyingTool(t *testing.T, name string, lines int) {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\ni=0\nwhile [ $i -lt %d ] && read -r line; do i=$((i+1)); done\necho '%s: stand-in dying early (no operating system found)' >&2\nexit 1\n", lines, name)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+envvar.Path.Get(os.Getenv))
}
