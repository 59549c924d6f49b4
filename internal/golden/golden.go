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

// CheckSection compares got with the lines between the marker lines start
// and end of the file at path (a generated table in a README) and rewrites
// them with -update.
func CheckSection(t testing.TB, path, start, end string, got []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i, j := strings.Index(text, start+"\n"), strings.Index(text, "\n"+end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %s ... %s section", path, start, end)
	}
	head, want, tail := text[:i+len(start)+1], text[i+len(start)+1:j+1], text[j+1:]
	if *update {
		if err := os.WriteFile(path, []byte(head+string(got)+tail), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(got) != want {
		n, g, w := firstDifference(string(got), want)
		t.Errorf("the section %s of %s differs at its line %d (go test -update rewrites it if the change is intended)\n got: %q\nwant: %q", start, path, n, g, w)
	}
}
