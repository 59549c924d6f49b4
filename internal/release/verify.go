package release

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/provenance"
	"gold-standard-images/internal/sign"
	"gold-standard-images/internal/tree"
)

// Line is what holds of one artifact, or what does not.
type Line struct {
	Path string
	OK   bool
	What string
}

// String is "ok   <path>: <what>" or "FAIL <path>: <what>".
func (l Line) String() string {
	if l.OK {
		return "ok   " + l.Path + ": " + l.What
	}
	return "FAIL " + l.Path + ": " + l.What
}

// Failed is nil when every line holds, else an error counting those that
// do not.
func Failed(lines []Line) error {
	n := 0
	for _, l := range lines {
		if !l.OK {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("verifying the release: %d of %d check(s) failed (the FAIL lines name them)", n, len(lines))
}

// VerifyPath checks every provider folder (a folder holding SHA256SUM) at
// or below path. keys must hold at least one key.
func VerifyPath(ctx context.Context, path string, keys sign.Keys) ([]Line, error) {
	if keys.None() {
		return nil, errors.New("verifying the release: no key: set GPG_SIGNING_KEY or GPG_PUBLIC_KEY, and COSIGN_KEY or COSIGN_PUBLIC_KEY (or \"signing\" in templates/site.json)")
	}
	var dirs []string
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && tree.Hidden(d.Name()) && p != path {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == checksum.FileName {
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verifying the release %q: %w", path, err)
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("verifying the release %q: no %s at or below it", path, checksum.FileName)
	}
	var lines []Line
	for _, dir := range dirs {
		ls, err := VerifyFolder(ctx, dir, keys)
		if err != nil {
			return lines, err
		}
		lines = append(lines, ls...)
	}
	return lines, nil
}

// VerifyFolder checks one provider folder: SHA256SUM's signature (with an
// OpenPGP key), every file against SHA256SUM, and each artifact's
// provenance (with a cosign key): signed by the key, its subject the file's
// name and digest. It returns one line for SHA256SUM and one per file.
func VerifyFolder(ctx context.Context, dir string, keys sign.Keys) ([]Line, error) {
	sumPath := filepath.Join(dir, checksum.FileName)
	var lines []Line
	switch err := CheckSignature(dir, keys); {
	case keys.PGP == nil:
		lines = append(lines, Line{sumPath, true, "signature not checked (no OpenPGP key given)"})
	case err != nil:
		lines = append(lines, Line{sumPath, false, err.Error()})
	default:
		lines = append(lines, Line{sumPath, true, "signed by OpenPGP key " + keys.PGP.Fingerprint()})
	}
	data, err := os.ReadFile(sumPath)
	if err != nil {
		return nil, fmt.Errorf("verifying %q: %w", dir, err)
	}
	entries, err := checksum.Parse(sumPath, data)
	if err != nil {
		return append(lines, Line{sumPath, false, err.Error()}), nil
	}
	mismatches, err := checksum.VerifyFolder(ctx, dir)
	if err != nil {
		return nil, err
	}
	bad := map[string]string{}
	for _, m := range mismatches {
		if m.Name == "" || m.Name == checksum.FileName {
			lines = append(lines, Line{sumPath, false, m.Problem})
			continue
		}
		bad[m.Name] = m.Problem
	}
	listed := map[string]string{}
	for _, e := range entries {
		listed[e.Name] = e.SHA256
	}
	names := make([]string, 0, len(listed))
	for n := range listed {
		names = append(names, n)
	}
	for n := range bad {
		if _, ok := listed[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if problem, ok := bad[name]; ok {
			lines = append(lines, Line{path, false, problem})
			continue
		}
		what := "sha256 as SHA256SUM lists"
		if !Subject(name) || strings.Contains(name, "/") {
			lines = append(lines, Line{path, true, what})
			continue
		}
		l := checkProvenance(path, name, listed, keys)
		l.What = what + "; " + l.What
		lines = append(lines, l)
	}
	return lines, nil
}

// checkProvenance checks the provenance of the artifact name of a folder.
func checkProvenance(path, name string, listed map[string]string, keys sign.Keys) Line {
	provName := name + tree.ProvenanceSuffix
	if keys.CosignPublic == nil {
		return Line{path, true, "provenance not checked (no cosign key given)"}
	}
	if _, ok := listed[provName]; !ok {
		return Line{path, false, "no provenance " + provName + " listed in " + checksum.FileName}
	}
	data, err := os.ReadFile(provenance.Path(path))
	if err != nil {
		return Line{path, false, err.Error()}
	}
	s, err := provenance.Open(data, keys.CosignPublic)
	switch {
	case err != nil:
		return Line{path, false, "provenance " + provName + ": " + err.Error()}
	case s.Subject[0].Name != name:
		return Line{path, false, fmt.Sprintf("provenance %s is about %q, not this file", provName, s.Subject[0].Name)}
	case s.Digest() != listed[name]:
		return Line{path, false, fmt.Sprintf("provenance %s gives sha256 %s, the file has %s", provName, s.Digest(), listed[name])}
	}
	return Line{path, true, fmt.Sprintf("provenance signed by the cosign key (built by %s)", s.Predicate.RunDetails.Builder.ID)}
}

// Verify checks what: a folder when it is one, else an image reference.
func Verify(ctx context.Context, what string, keys sign.Keys) ([]Line, error) {
	if info, err := os.Stat(what); err == nil && info.IsDir() {
		return VerifyPath(ctx, what, keys)
	}
	return VerifyImage(ctx, what, keys)
}
