// Package golden compares test output with the golden files in testdata/
// and rewrites them when the tests run with -update:
//
//	go test ./... -update
//
// The -update flag is registered here. go test hands it to every test
// binary, and a binary without it fails, so every package with tests
// imports this one, if only for the flag (update_test.go).
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Check compares got with testdata/<test name>.golden; a subtest's file is
// in its parent test's folder.
func Check(t testing.TB, got []byte) {
	t.Helper()
	check(t, filepath.Join("testdata", t.Name()+".golden"), got)
}

// CheckNamed compares got with testdata/<test name>/<name>.golden, for a
// test with several golden files.
func CheckNamed(t testing.TB, name string, got []byte) {
	t.Helper()
	check(t, filepath.Join("testdata", t.Name(), name+".golden"), got)
}

func check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the golden file (go test -update writes it): %v", err)
	}
	if !bytes.Equal(got, want) {
		n, g, w := firstDifference(string(got), string(want))
		t.Errorf("output differs from %s at line %d (go test -update rewrites it if the change is intended)\n got: %q\nwant: %q\n--- got\n%s", path, n, g, w, got)
	}
}

// firstDifference returns the first line, counted from 1, where got and
// want differ, and that line of each ("" past the end).
func firstDifference(got, want string) (int, string, string) {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; ; i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return i + 1, gl, wl
		}
	}
}
