// Package checksum writes and verifies the SHA256SUM file of each provider
// folder of the artifacts tree, in coreutils format (`sha256sum -c SHA256SUM`
// passes in the folder). Files are hashed in parallel across folders, and a
// SHA256SUM newer than every file it covers is reused instead of hashing
// gigabytes again.
package checksum

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/tree"
)

// FileName is the name of the checksum file in each provider folder.
const FileName = "SHA256SUM"

// SignatureFile is FileName's detached OpenPGP signature (internal/release),
// which SHA256SUM cannot list.
const SignatureFile = FileName + ".asc"

// Entry is one line of a SHA256SUM file.
type Entry struct {
	Name   string // file name relative to the folder, slash-separated
	SHA256 string // lower-case hex digest
}

// Format renders entries in coreutils format, `<hex>  <name>`, sorted by
// name.
func Format(entries []Entry) []byte {
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b bytes.Buffer
	for _, e := range sorted {
		fmt.Fprintf(&b, "%s  %s\n", e.SHA256, e.Name)
	}
	return b.Bytes()
}

// Parse reads a SHA256SUM file's content; path is only used in messages.
// It accepts the text (`<hex>  <name>`) and binary (`<hex> *<name>`) forms.
func Parse(path string, data []byte) ([]Entry, error) {
	var entries []Entry
	var problems []error
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, " ")
		if ok && (strings.HasPrefix(name, " ") || strings.HasPrefix(name, "*")) {
			name = name[1:]
		} else {
			ok = false
		}
		if !ok || !isHex64(sum) || name == "" {
			problems = append(problems, fmt.Errorf("reading %q: line %d: want \"<64 hex digits>  <file name>\", got %q", path, n, line))
			continue
		}
		if seen[name] {
			problems = append(problems, fmt.Errorf("reading %q: line %d: %q is listed twice", path, n, name))
			continue
		}
		seen[name] = true
		entries = append(entries, Entry{Name: name, SHA256: strings.ToLower(sum)})
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, fmt.Errorf("reading %q: %w", path, err))
	}
	return entries, errors.Join(problems...)
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// file is one artifact file found in a folder.
type file struct {
	name  string // relative to the folder, slash-separated
	size  int64
	ctime time.Time
	kind  string // what it is when it is not a regular file (tree.Irregular)
}

// listFolder lists the artifact files of dir: every regular file below it
// (sub-folders included) except SHA256SUM itself and hidden entries (dot
// files, such as atomicfile's temporary files). Anything else (a symbolic
// link, which could lead outside the tree, a named pipe, a device) is
// returned in odd, by name, with what it is: never hashed, listed or
// published.
func listFolder(dir string) (files []file, odd []file, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("listing %q: %w", path, err)
		}
		if path == dir {
			return nil
		}
		if tree.Hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if what := tree.Irregular(d.Type()); what != "" {
			odd = append(odd, file{name: rel, kind: what})
			return nil
		}
		if rel == FileName || rel == SignatureFile || d.IsDir() {
			return nil
		}
		info, err := d.Info() // not followed: a regular file
		if err != nil {
			return fmt.Errorf("listing %q: %w", path, err)
		}
		if strings.ContainsAny(rel, "\\\n\r") {
			return fmt.Errorf("listing %q: file names with a backslash or a line break cannot be written to %s", path, FileName)
		}
		files = append(files, file{name: rel, size: info.Size(), ctime: changeTime(info)})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	return files, odd, nil
}

// oddError names the entries of dir that are not regular files.
func oddError(dir string, odd []file) error {
	var errs []error
	for _, f := range odd {
		errs = append(errs, fmt.Errorf("%q is %s, not a regular file: artifacts/ holds only regular files (a link could lead outside it)", filepath.Join(dir, filepath.FromSlash(f.name)), f.kind))
	}
	return errors.Join(errs...)
}

// ReadFolder returns the entries of dir's SHA256SUM and whether they are
// current: the file exists, lists exactly the artifact files present, and
// was written after each of them last changed (status change time, which a
// copy that keeps old modification times cannot fake). Current entries can
// be used without hashing again.
func ReadFolder(dir string) (entries []Entry, current bool, err error) {
	files, odd, err := listFolder(dir)
	if err != nil {
		return nil, false, err
	}
	if len(odd) > 0 {
		return nil, false, oddError(dir, odd)
	}
	return readCurrent(dir, files)
}

func readCurrent(dir string, files []file) ([]Entry, bool, error) {
	path := filepath.Join(dir, FileName)
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %q: %w", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false, fmt.Errorf("reading %q: %w", path, err)
	}
	entries, err := Parse(path, data)
	if err != nil {
		return nil, false, err
	}
	if len(entries) != len(files) {
		return entries, false, nil
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	written := info.ModTime()
	for i, f := range files {
		if entries[i].Name != f.name || !f.ctime.Before(written) {
			return entries, false, nil
		}
	}
	return entries, true, nil
}

// Folder is the outcome of writing one folder's SHA256SUM.
type Folder struct {
	Dir       string
	Artifacts []tree.Artifact // every file covered, then SHA256SUM itself (kind Checksum)
	Hashed    bool            // files were hashed (false: the SHA256SUM was current)
	Written   bool            // SHA256SUM was created or its content changed
}

// writeFolders writes the SHA256SUM of each folder, covering every
// artifact file of the folder, and hashes the files of all folders in one
// worker pool. A folder whose SHA256SUM is current is not hashed again; an
// unchanged result leaves the file's content as it was (only its time is
// renewed, see writeIfChanged). A folder without any artifact file, and a
// file whose new digest CheckChange refuses, are errors naming them, and
// then no folder is written.
func writeFolders(ctx context.Context, dirs []string, log io.Writer) ([]Folder, error) {
	unlock, err := lockBuilds(ctx, dirs, log)
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", FileName, err)
	}
	defer unlock()
	type job struct {
		files   []file
		entries []Entry
		current bool
	}
	jobs := make([]job, len(dirs))
	var problems []error
	var paths []string
	var sizes []int64
	for i, dir := range dirs {
		files, odd, err := listFolder(dir)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if len(odd) > 0 {
			problems = append(problems, fmt.Errorf("writing %s: %w", FileName, oddError(dir, odd)))
			continue
		}
		if len(files) == 0 {
			problems = append(problems, fmt.Errorf("writing %s in %q: the folder has no artifact file", FileName, dir))
			continue
		}
		entries, current, err := readCurrent(dir, files)
		if err != nil {
			// An unreadable or malformed SHA256SUM is rewritten from the files.
			entries, current = nil, false
		}
		jobs[i] = job{files: files, entries: entries, current: current}
		if !current {
			for _, f := range files {
				paths = append(paths, filepath.Join(dir, filepath.FromSlash(f.name)))
				sizes = append(sizes, f.size)
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	start := time.Now()
	sums, err := hashPaths(ctx, paths, sizes)
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", FileName, err)
	}
	k := 0
	for i, dir := range dirs {
		j := &jobs[i]
		if j.current {
			continue
		}
		listed := map[string]string{}
		for _, e := range j.entries {
			listed[e.Name] = e.SHA256
		}
		j.entries = make([]Entry, len(j.files))
		for n, f := range j.files {
			j.entries[n] = Entry{Name: f.name, SHA256: sums[k]}
			k++
			if err := CheckChange(filepath.Join(dir, filepath.FromSlash(f.name)), listed[f.name], j.entries[n].SHA256); err != nil {
				problems = append(problems, fmt.Errorf("writing %s: %w", FileName, err))
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	out := make([]Folder, len(dirs))
	for i, dir := range dirs {
		j := jobs[i]
		res := Folder{Dir: dir, Hashed: !j.current}
		if !j.current {
			written, err := writeIfChanged(filepath.Join(dir, FileName), Format(j.entries), start)
			if err != nil {
				return nil, err
			}
			res.Written = written
		}
		res.Artifacts, err = folderArtifacts(dir, j.entries)
		if err != nil {
			return nil, err
		}
		out[i] = res
	}
	return out, nil
}

// lockBuilds takes the lock of the build of each of dirs (provider folders:
// their parent, tree.LockBuild), in name order, so that no conversion of
// these builds writes there meanwhile; out (nil: nobody) is told of a
// wait. unlock releases them all.
func lockBuilds(ctx context.Context, dirs []string, out io.Writer) (unlock func(), err error) {
	seen := map[string]bool{}
	var builds []string
	for _, d := range dirs {
		if b := filepath.Dir(d); !seen[b] {
			seen[b] = true
			builds = append(builds, b)
		}
	}
	sort.Strings(builds)
	var held []func()
	unlock = func() {
		for _, u := range held {
			u()
		}
	}
	for _, b := range builds {
		u, err := tree.LockBuild(ctx, b, func() {
			if out != nil {
				fmt.Fprintf(out, ">> checksum: waiting for another run on %s (it holds %s)\n", b, tree.BuildLock(b))
			}
		})
		if err != nil {
			unlock()
			return nil, err
		}
		held = append(held, u)
	}
	return unlock, nil
}

// CheckChange says whether sum, the SHA-256 the file at path has now, may
// be recorded in its folder's SHA256SUM, which lists listed for it ("" for
// none). It may when it is what SHA256SUM lists, when the file is still as
// convert wrote it (its record, tree.ReadMade: same size and modification
// time, and the same digest where the record has one), or for a file
// neither knows. Otherwise the file was damaged or replaced since, and the
// error names it: a new digest would make verify pass and the catalog
// publish it.
func CheckChange(path, listed, sum string) error {
	made, ok := tree.ReadMade(path)
	switch {
	case sum == listed, ok && made.Unchanged(path) && (made.SHA256 == "" || made.SHA256 == sum):
		return nil
	case listed != "":
		return fmt.Errorf("%q changed since it was checksummed: restore it or rebuild with FORCE=1", path)
	case ok:
		return fmt.Errorf("%q changed since convert wrote it: restore it or rebuild with FORCE=1", path)
	}
	return nil
}

// writeIfChanged writes data to path atomically unless path already holds
// exactly data. Either way the file's modification time becomes stamp, the
// moment hashing started: a file that changes after it reads as newer than
// the SHA256SUM, so ReadFolder does not take stale digests as current.
func writeIfChanged(path string, data []byte, stamp time.Time) (bool, error) {
	written := false
	if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, data) {
		if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
			return false, err
		}
		written = true
	}
	if err := os.Chtimes(path, stamp, stamp); err != nil {
		return false, fmt.Errorf("writing %q: %w", path, err)
	}
	return written, nil
}

// folderArtifacts turns a folder's entries into artifacts, followed by the
// SHA256SUM file itself with its own digest.
func folderArtifacts(dir string, entries []Entry) ([]tree.Artifact, error) {
	provider := filepath.Base(dir)
	var arts []tree.Artifact
	for _, e := range entries {
		kind := tree.Disk
		if strings.HasSuffix(e.Name, ".box") {
			kind = tree.Box
		}
		arts = append(arts, tree.Artifact{Provider: provider, Kind: kind, Path: filepath.Join(dir, filepath.FromSlash(e.Name)), SHA256: e.SHA256})
	}
	sumPath := filepath.Join(dir, FileName)
	data, err := os.ReadFile(sumPath)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", sumPath, err)
	}
	arts = append(arts, tree.Artifact{Provider: provider, Kind: tree.Checksum, Path: sumPath, SHA256: sha256Hex(data)})
	return arts, nil
}

// WriteArtifacts writes the SHA256SUM of every folder holding one of arts
// (what a build produced) and returns arts with SHA256 filled in, followed
// by one Checksum artifact per folder. Each SHA256SUM covers every artifact file of its folder, listed or
// not; an artifact missing from its folder is an error naming it. The
// builds' locks are held meanwhile (log, nil or not, hears of a wait).
func WriteArtifacts(ctx context.Context, arts []tree.Artifact, log io.Writer) ([]tree.Artifact, error) {
	var dirs []string
	seen := map[string]bool{}
	for _, a := range arts {
		if a.Kind == tree.Checksum {
			continue
		}
		d := filepath.Dir(a.Path)
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	folders, err := writeFolders(ctx, dirs, log)
	if err != nil {
		return nil, err
	}
	digests := map[string]string{}
	var checksums []tree.Artifact
	for _, f := range folders {
		for _, a := range f.Artifacts {
			if a.Kind == tree.Checksum {
				checksums = append(checksums, a)
				continue
			}
			digests[filepath.Clean(a.Path)] = a.SHA256
		}
	}
	var out []tree.Artifact
	var problems []error
	for _, a := range arts {
		if a.Kind == tree.Checksum {
			continue
		}
		sum, ok := digests[filepath.Clean(a.Path)]
		if !ok {
			problems = append(problems, fmt.Errorf("writing %s: artifact %q is not in its folder (or is hidden)", FileName, a.Path))
			continue
		}
		a.SHA256 = sum
		out = append(out, a)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return append(out, checksums...), nil
}

// WriteTree writes the SHA256SUM of every provider folder under root (the
// artifacts folder), see writeFolders. The tree is checked first (see
// tree.Scan); on any problem nothing is written. The builds' locks are
// held meanwhile (log, nil or not, hears of a wait).
func WriteTree(ctx context.Context, root string, log io.Writer) ([]Folder, error) {
	dirs, err := providerDirs(root)
	if err != nil {
		return nil, err
	}
	return writeFolders(ctx, dirs, log)
}

// providerDirs lists the provider folders under root, the artifacts folder,
// after checking its layout (tree.Scan).
func providerDirs(root string) ([]string, error) {
	folders, err := tree.Scan(root)
	if err != nil {
		return nil, err
	}
	dirs := make([]string, len(folders))
	for i, f := range folders {
		dirs[i] = f.Dir
	}
	return dirs, nil
}
