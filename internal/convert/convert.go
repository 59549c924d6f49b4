// Package convert turns each provider's Packer output into the file its
// platform takes (one table, a row per provider) and makes the Vagrant boxes:
// azure a fixed VHD, gcp a sparse oldgnu disk.raw tarball, docker a rootfs
// tarball, vmware an OVA (ovftool's, or made in Go where it is missing), the others
// the disk as built. Every build but virtualbox's also has a debug box, made
// apart and only when asked for (Options.DebugBoxes): a copy of the disk
// with the vagrant user added (debugbox.go), so the artifacts the platforms
// take never wait on it, fail with it or need keys/vagrant.pub. Every output is written under a temporary name and
// renamed when whole into its provider folder, which exists only once it
// holds a whole output. Each output's size, time and SHA-256 are recorded
// beside it (tree.WriteMade); outputs newer than their input and unchanged
// since are kept.
package convert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/tree"
)

// Options tune Run.
type Options struct {
	// Root is the repository root the configuration's folders are relative
	// to; empty is cfg.Root, or the current directory when that is empty.
	Root string
	// Log receives one line per output (made, up to date, skipped); nil
	// discards it.
	Log io.Writer
	// ToolOutput receives the output of qemu-img, guestfish and ovftool as
	// they run (mage -v); nil discards it. It always goes to the provider's
	// conversion log too, logs/<version>/<vm_name>/<provider>.convert.log,
	// and errors quote its end.
	ToolOutput io.Writer
	// Getenv reads QEMU_ACCELERATOR, LIBGUESTFS_BACKEND and
	// LIBGUESTFS_BACKEND_SETTINGS (the docker rootfs and the debug boxes);
	// nil is os.Getenv.
	Getenv func(string) string
	// DebugBoxes makes the debug boxes of the rows that have one, and
	// nothing else (artifacts:debugboxes, DEBUG_BOXES=1); false makes
	// everything else. The debug boxes read the platform's artifact or
	// Packer output and keys/vagrant.pub.
	DebugBoxes bool
}

// row is one provider's conversion: the Packer output it reads and the
// artifacts it makes from it.
type row struct {
	provider string
	input    string // extension of the Packer output file <stem>.<input>
	outputs  []output
}

// output is one artifact of a row.
type output struct {
	ext  string // artifact extension: <vm_name>-<version>_<provider>.<ext>
	kind tree.Kind
	// make writes the artifact to tmp (a path in a private temporary folder
	// beside the final file) and returns the files it made, relative to the
	// artifact folder (usually just the final name), or nil to mean the
	// final name.
	make makeFunc
	// debug marks a debug box: made from a copy of the disk with the
	// vagrant user added, for an image that has none (debugbox.go).
	debug bool
}

type makeFunc func(ctx context.Context, j *job, tmp string) ([]string, error)

// disk is an output of kind tree.Disk with the extension ext.
func disk(ext string, make makeFunc) output { return output{ext: ext, kind: tree.Disk, make: make} }

// asBuiltBox is a Vagrant box made from the image as built (it has the vagrant
// user: ansible/group_vars/all.yml, gsi_vagrant_builds).
func asBuiltBox(make makeFunc) output { return output{ext: "box", kind: tree.Box, make: make} }

// debugBox is a Vagrant box made from a copy of the image with the vagrant
// user added (the image itself has none).
func debugBox(make makeFunc) output {
	return output{ext: "box", kind: tree.Box, make: make, debug: true}
}

// makers are the code of each way an artifact is made (providers.Make).
var makers = map[providers.Make]makeFunc{
	providers.AsBuilt:       asBuilt,
	providers.FixedVHD:      fixedVHD,
	providers.GCPTarball:    gcpTarball,
	providers.RootfsTarball: rootfsTarball,
	providers.VMwareOVA:     vmwareOVA,
}

// boxMakers make the Vagrant box of each Vagrant provider: from the image
// as built (a providers.VagrantImage) or as a debug box.
var boxMakers = map[bool]map[string]makeFunc{
	false: {providers.VagrantVirtualBox: virtualboxBox},
	true: {
		providers.VagrantVirtualBox: virtualboxDebugBox,
		providers.VagrantLibvirt:    libvirtDebugBox,
		providers.VagrantVMware:     vmwareDebugBox,
	},
}

// table is the one conversion table: a row per provider of providers.All,
// read from its Input, Artifact, Make, Box and Kind.
func table() []row {
	rows := make([]row, len(providers.All))
	for i, p := range providers.All {
		rows[i] = row{p.Name, p.Input, []output{disk(p.Artifact, makers[p.Make])}}
		if box := boxMakers[p.DebugBox()][p.Box]; p.DebugBox() {
			rows[i].outputs = append(rows[i].outputs, debugBox(box))
		} else {
			rows[i].outputs = append(rows[i].outputs, asBuiltBox(box))
		}
	}
	return rows
}

// Providers lists the providers the conversion table has a row for, in
// table order.
func Providers() []string {
	rows := table()
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.provider
	}
	return names
}

// MakesBox reports whether provider's row makes a Vagrant box (a debug
// box or not).
func MakesBox(provider string) bool {
	return makes(provider, func(o output) bool { return o.kind == tree.Box })
}

// MakesDebugBox reports whether provider's row makes a debug box: a Vagrant
// box from a copy of its disk with the vagrant user added, since the image
// itself has none.
func MakesDebugBox(provider string) bool {
	return makes(provider, func(o output) bool { return o.kind == tree.Box && o.debug })
}

func makes(provider string, is func(output) bool) bool {
	for _, r := range table() {
		for _, o := range r.outputs {
			if r.provider == provider && is(o) {
				return true
			}
		}
	}
	return false
}

// job is one row at work.
type job struct {
	provider string
	stem     string // <vm_name>-<version>_<provider>
	inDir    string // Packer output folder (absolute)
	input    string // main Packer output file (absolute)
	outDir   string // artifact folder (absolute)
	newest   time.Time
	log      *lineLog
	tools    io.Writer // the conversion log, and ToolOutput
	toolLog  string    // the conversion log's path, relative to the root
	getenv   func(string) string
	ovaHash  string // hash algorithm of an OVA's manifest (site vmware_sha)
	// diskSize is the site's disk_size in bytes: a disk larger than that
	// is no output of this build (0: no limit).
	diskSize int64
	// vagrantKey is the site's vagrant public key (keys/vagrant.pub), which
	// debug boxes authorize.
	vagrantKey string
}

// Run converts the Packer output of the selected providers into their
// artifacts, in parallel, and returns the artifacts (paths relative to the
// root). A provider without Packer output is skipped with a note. The
// errors of every failed conversion are returned together; the artifacts
// of the others are still returned.
func Run(ctx context.Context, cfg *config.Config, selected []providers.Provider, opts Options) ([]tree.Artifact, error) {
	root := opts.Root
	if root == "" {
		root = cfg.Root
	}
	if root == "" {
		root = "."
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("converting artifacts: %w", err)
	}
	log := &lineLog{w: opts.Log}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.ToolOutput == nil {
		opts.ToolOutput = io.Discard
	}
	var (
		mu     sync.Mutex
		arts   []tree.Artifact
		errs   []error
		wg     sync.WaitGroup
		chosen = map[string]bool{}
	)
	for _, p := range selected {
		chosen[p.Name] = true
	}
	// One conversion of a build at a time: a second one waits, then finds
	// what the first made up to date (checksum takes the same lock).
	buildDir := filepath.Join(root, cfg.Tree().Dir())
	unlock, err := tree.LockBuild(ctx, buildDir, func() {
		log.printf("waiting for another conversion of %s %s (it holds %s)", cfg.OS.VMName, cfg.Site.Version, tree.BuildLock(buildDir))
	})
	if err != nil {
		return nil, fmt.Errorf("converting artifacts: %w", err)
	}
	defer unlock()
	for _, r := range table() {
		r.outputs = slices.DeleteFunc(slices.Clone(r.outputs), func(o output) bool { return o.debug != opts.DebugBoxes })
		if !chosen[r.provider] || len(r.outputs) == 0 {
			continue
		}
		j := &job{
			provider:   r.provider,
			stem:       cfg.Tree().BaseName(r.provider),
			inDir:      filepath.Join(root, cfg.Tree().PackerOutput(r.provider)),
			outDir:     filepath.Join(root, cfg.Tree().ArtifactDir(r.provider)),
			log:        log,
			toolLog:    cfg.Tree().ConvertLog(r.provider),
			getenv:     opts.Getenv,
			ovaHash:    cfg.Site.VMwareSHA,
			diskSize:   int64(cfg.Site.DiskSize) << 20,
			vagrantKey: filepath.Join(root, packer.VagrantPublicKey),
		}
		j.input = filepath.Join(j.inDir, j.stem+"."+r.input)
		if _, err := os.Stat(j.input); errors.Is(err, fs.ErrNotExist) {
			log.printf("%s: no Packer output %s, skipped", r.provider, rel(root, j.input))
			continue
		}
		logFile, err := createLog(filepath.Join(root, j.toolLog))
		if err != nil {
			errs = append(errs, fmt.Errorf("converting %s: %w", r.provider, err))
			continue
		}
		j.tools = io.MultiWriter(logFile, opts.ToolOutput)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer logFile.Close()
			made, err := j.run(ctx, r)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("converting %s: %w", r.provider, err))
			}
			for _, m := range made {
				m.Path = rel(root, m.Path)
				arts = append(arts, m)
			}
		}()
	}
	wg.Wait()
	sort.SliceStable(arts, func(a, b int) bool { return arts[a].Path < arts[b].Path })
	sort.Slice(errs, func(a, b int) bool { return errs[a].Error() < errs[b].Error() })
	return arts, errors.Join(errs...)
}

// createLog creates (or empties) the conversion log at path.
func createLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the conversion log: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the conversion log: %w", err)
	}
	return f, nil
}

// run makes the outputs of one row, one after the other (they read the
// same input), skipping those newer than every input file. The artifact
// folder is created only when its first output is whole (see make): a
// failed or killed run leaves no empty provider folder behind, and one an
// older run left empty is removed.
func (j *job) run(ctx context.Context, r row) (arts []tree.Artifact, err error) {
	newest, err := newestFile(j.inDir)
	if err != nil {
		return nil, err
	}
	j.newest = newest
	if err := os.MkdirAll(j.workDir(), 0o755); err != nil {
		return nil, fmt.Errorf("creating %q: %w", j.workDir(), err)
	}
	removeLeftovers(j.workDir(), j.log)
	removeLeftovers(j.outDir, j.log) // where older versions made them
	defer func() {
		if err != nil {
			os.Remove(j.outDir) // only when empty
		}
	}()
	checked := false
	for _, o := range r.outputs {
		final := filepath.Join(j.outDir, j.stem+"."+o.ext)
		if j.fresh(final) {
			j.log.printf("%s: %s up to date", j.provider, filepath.Base(final))
			arts = append(arts, tree.Artifact{Provider: j.provider, Kind: o.kind, Path: final})
			continue
		}
		if _, err := os.Stat(final); err == nil && !written(final) {
			j.log.printf("%s: %s is not what convert wrote (size or time differ from %s), making it again", j.provider, filepath.Base(final), filepath.Base(tree.MadeRecord(final)))
		}
		if !checked {
			if err := checkInput(ctx, j, j.input); err != nil {
				return arts, err
			}
			checked = true
		}
		files, err := j.make(ctx, o, final)
		if err != nil {
			return arts, err
		}
		for _, f := range files {
			arts = append(arts, tree.Artifact{Provider: j.provider, Kind: o.kind, Path: filepath.Join(j.outDir, f)})
		}
	}
	return arts, nil
}

// workDir is the folder the conversions' temporary folders go in: the
// artifact folder's parent, artifacts/<version>/<vm_name> (same file
// system, so moving a result into place is atomic; hidden names, so the
// tree, checksums and catalogs never see them).
func (j *job) workDir() string { return filepath.Dir(j.outDir) }

// make runs one output's conversion in a private temporary folder in
// workDir and moves the result into place (place). A failure leaves
// nothing behind.
func (j *job) make(ctx context.Context, o output, final string) ([]string, error) {
	tmpDir, err := os.MkdirTemp(j.workDir(), fmt.Sprintf("%s%s-%d-", tempPrefix, filepath.Base(final), os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("creating a temporary folder in %q: %w", j.workDir(), err)
	}
	defer os.RemoveAll(tmpDir)
	start := time.Now()
	tmp := filepath.Join(tmpDir, filepath.Base(final))
	files, err := o.make(ctx, j, tmp)
	if err != nil {
		return nil, err
	}
	if files != nil {
		return files, nil // the row moved its own files into place
	}
	if err := j.place(tmp, final, ""); err != nil {
		return nil, err
	}
	j.log.printf("%s: %s made in %s", j.provider, filepath.Base(final), time.Since(start).Round(time.Second))
	return []string{filepath.Base(final)}, nil
}

// place moves the whole file tmp to final in the artifact folder, creating
// the folder for its first file, and records final's size and time, and
// its SHA-256 (hex) when the row knows it ("" otherwise: the file is not
// read again), for the up-to-date check and checksums (tree.WriteMade).
func (j *job) place(tmp, final, sum string) error {
	if err := os.MkdirAll(j.outDir, 0o755); err != nil {
		return fmt.Errorf("creating %q: %w", j.outDir, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("moving %q into place: %w", final, err)
	}
	return tree.WriteMade(final, sum)
}

// tempPrefix starts the names of the conversions' temporary folders:
// .convert-<final name>-<pid>-<random>.
const tempPrefix = ".convert-"

// removeLeftovers deletes the temporary folders in dir left by conversions
// whose process is gone (a run killed before its clean-up, e.g. by mage's
// five-second limit after Ctrl-C). Folders of a running process stay.
func removeLeftovers(dir string, log *lineLog) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := leftoverPID(e.Name())
		if !ok || !e.IsDir() || processAlive(pid) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := os.RemoveAll(path); err != nil {
			log.printf("removing %q, left by an interrupted run: %v", path, err)
			continue
		}
		log.printf("removed %q, left by an interrupted run", path)
	}
}

// leftoverPID reads the process id of a temporary folder's name.
func leftoverPID(name string) (int, bool) {
	if !strings.HasPrefix(name, tempPrefix) {
		return 0, false
	}
	parts := strings.Split(name, "-")
	if len(parts) < 4 {
		return 0, false
	}
	pid, err := strconv.Atoi(parts[len(parts)-2])
	return pid, err == nil && pid > 0
}

// processAlive says whether a process with this id exists.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// fresh says whether path is an output convert wrote, unchanged since (see
// written), and not older than the newest Packer output file.
func (j *job) fresh(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.ModTime().Before(j.newest) && written(path)
}

// written says whether path is as convert wrote it: its record
// (tree.MadeRecord) holds its size and modification time. A file truncated,
// edited or copied over since, or one without a record, is not.
func written(path string) bool {
	m, ok := tree.ReadMade(path)
	return ok && m.Unchanged(path)
}

// newestFile is the latest modification time of the files in dir.
func newestFile(dir string) (time.Time, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the Packer output %q: %w", dir, err)
	}
	var newest time.Time
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return time.Time{}, fmt.Errorf("reading the Packer output %q: %w", dir, err)
		}
		if info.Mode().IsRegular() && info.ModTime().After(newest) {
			newest = info.ModTime()
		}
	}
	return newest, nil
}

func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// lineLog serialises lines from parallel conversions.
type lineLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineLog) printf(format string, args ...any) {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}

// Write lets tools' output go to the log.
func (l *lineLog) Write(p []byte) (int, error) {
	if l.w == nil {
		return len(p), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
