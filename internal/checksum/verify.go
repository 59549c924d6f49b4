package checksum

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Mismatch is one file of a folder that does not match its SHA256SUM.
type Mismatch struct {
	Dir     string // provider folder
	Name    string // file name in the folder
	Problem string // what is wrong, for people
}

// String is "<folder>/<name>: <problem>".
func (m Mismatch) String() string {
	return filepath.Join(m.Dir, filepath.FromSlash(m.Name)) + ": " + m.Problem
}

// verifyFolders hashes every file listed in each folder's SHA256SUM again
// (all folders in one worker pool) and returns each mismatch: a digest that
// differs, a listed file that is missing, an artifact file SHA256SUM does
// not list, anything that is not a regular file (a link: sha256sum would
// follow it), a folder without SHA256SUM or without any artifact. The error
// is for failures to read, not for mismatches.
func verifyFolders(ctx context.Context, dirs []string) ([]Mismatch, error) {
	var mismatches []Mismatch
	type check struct {
		dir  string
		name string
		want string
	}
	var checks []check
	var paths []string
	var sizes []int64
	for _, dir := range dirs {
		files, odd, err := listFolder(dir)
		if err != nil {
			return nil, err
		}
		isOdd := map[string]bool{}
		for _, f := range odd {
			isOdd[f.name] = true
			mismatches = append(mismatches, Mismatch{Dir: dir, Name: f.name, Problem: f.kind + ", not a regular file: refused (a link could lead outside artifacts/)"})
		}
		sumPath := filepath.Join(dir, FileName)
		data, err := os.ReadFile(sumPath)
		if errors.Is(err, os.ErrNotExist) {
			if len(files) == 0 {
				mismatches = append(mismatches, Mismatch{Dir: dir, Name: "", Problem: "the folder has no artifact file"})
			} else {
				mismatches = append(mismatches, Mismatch{Dir: dir, Name: FileName, Problem: "missing: run mage artifacts:checksum"})
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("verifying %q: %w", sumPath, err)
		}
		entries, err := Parse(sumPath, data)
		if err != nil {
			mismatches = append(mismatches, Mismatch{Dir: dir, Name: FileName, Problem: err.Error()})
			continue
		}
		present := map[string]int64{}
		for _, f := range files {
			present[f.name] = f.size
		}
		listed := map[string]bool{}
		for _, e := range entries {
			listed[e.Name] = true
			size, ok := present[e.Name]
			if isOdd[e.Name] {
				continue
			}
			if !ok {
				mismatches = append(mismatches, Mismatch{Dir: dir, Name: e.Name, Problem: "listed in " + FileName + " but missing"})
				continue
			}
			checks = append(checks, check{dir, e.Name, e.SHA256})
			paths = append(paths, filepath.Join(dir, filepath.FromSlash(e.Name)))
			sizes = append(sizes, size)
		}
		for _, f := range files {
			if !listed[f.name] {
				mismatches = append(mismatches, Mismatch{Dir: dir, Name: f.name, Problem: "not listed in " + FileName})
			}
		}
	}
	sums, err := hashPaths(ctx, paths, sizes)
	if err != nil {
		return nil, fmt.Errorf("verifying: %w", err)
	}
	for i, c := range checks {
		if sums[i] != c.want {
			mismatches = append(mismatches, Mismatch{Dir: c.dir, Name: c.name, Problem: fmt.Sprintf("checksum differs: %s lists %s, the file has %s", FileName, c.want, sums[i])})
		}
	}
	sort.Slice(mismatches, func(i, j int) bool {
		a, b := mismatches[i], mismatches[j]
		if a.Dir != b.Dir {
			return a.Dir < b.Dir
		}
		return a.Name < b.Name
	})
	return mismatches, nil
}

// VerifyFolder verifies the one folder dir; see verifyFolders.
func VerifyFolder(ctx context.Context, dir string) ([]Mismatch, error) {
	return verifyFolders(ctx, []string{dir})
}

// VerifyTree verifies every provider folder under root (the artifacts
// folder); see verifyFolders. A tree that is not laid out as expected is an
// error (see tree.Scan).
func VerifyTree(ctx context.Context, root string) ([]Mismatch, error) {
	dirs, err := providerDirs(root)
	if err != nil {
		return nil, err
	}
	return verifyFolders(ctx, dirs)
}

func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// MismatchError is nil when there is no mismatch, and otherwise one error
// naming every mismatching file, one per line.
func MismatchError(mismatches []Mismatch) error {
	if len(mismatches) == 0 {
		return nil
	}
	lines := make([]string, len(mismatches))
	for i, m := range mismatches {
		lines[i] = "  " + m.String()
	}
	return fmt.Errorf("verifying %s: %d mismatch(es):\n%s", FileName, len(mismatches), strings.Join(lines, "\n"))
}
