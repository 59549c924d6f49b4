// Package sbom reads what is installed in a disk image, offline, from the
// image's own package database (rpm on EL, dpkg on Debian) with libguestfs,
// and writes it as an SPDX 2.3 JSON document beside the artifacts.
//
// SPDX rather than CycloneDX: the issue names SPDX first, SPDX 2.3 is an
// ISO standard (ISO/IEC 5962) that distributions' own SBOM tools emit, and
// github.com/spdx/tools-golang has both a reader and a validator
// (spdxlib.ValidateDocument), so the tests and artifacts:diff read the
// document back with the library that wrote it. cyclonedx-go has no
// validator of its own.
package sbom

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gold-standard-images/internal/diskcheck"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/run"
)

// Package is one installed package.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"` // as the package manager writes it: [epoch:]version[-release]
	Arch    string `json:"arch,omitempty"`
}

// Inventory is what an image holds.
type Inventory struct {
	Distro   string    `json:"distro"`            // libguestfs's name: debian, centos, rhel, rocky...
	Product  string    `json:"product,omitempty"` // e.g. "Debian GNU/Linux 12 (bookworm)"
	Kernels  []string  `json:"kernels"`           // the folders of /lib/modules: one per installed kernel, sorted
	Packages []Package `json:"packages"`          // sorted by name, then arch
	Format   string    `json:"package_format"`    // rpm or deb
}

// Options tune Read; the zero value reads the process environment.
type Options struct {
	// Getenv reads QEMU_ACCELERATOR, LIBGUESTFS_BACKEND and
	// LIBGUESTFS_BACKEND_SETTINGS; nil is os.Getenv.
	Getenv func(string) string
	// Output receives guestfish's messages (a log); nil discards them.
	Output io.Writer
	// Log names the log file for the timeout error.
	Log string
	// Timeout bounds the guestfish session; 0 is 15 minutes (the appliance
	// starts in about 45 s under TCG).
	Timeout time.Duration
}

// marker ends each batch of guestfish commands so that the answers can be
// told apart.
const marker = "@@gold-standard-images@@"

// Read opens disk read-only in one libguestfs session and returns its
// inventory: the OS libguestfs finds, its installed packages
// (inspect-list-applications2: rpm and dpkg databases alike) and the
// kernel versions in /lib/modules. The disk's format comes from its name
// (.qcow2, .vmdk, .vdi, .raw, .img), and the disk must be of it and stand
// alone (diskcheck: no backing file) before libguestfs opens it.
func Read(ctx context.Context, disk string, o Options) (Inventory, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Timeout == 0 {
		o.Timeout = 15 * time.Minute
	}
	accel, err := kvm.Choose(ctx, o.Getenv, "")
	if err != nil {
		return Inventory{}, err
	}
	env := accel.GuestfishEnv(o.Getenv)
	format := diskFormat(disk)
	if format == "" {
		return Inventory{}, fmt.Errorf("reading the packages of %q: its name says no disk format (.qcow2, .vmdk, .vdi, .raw, .img)", disk)
	}
	if _, err := diskcheck.Check(ctx, disk, format, diskcheck.Options{Output: o.Output, Log: o.Log}); err != nil {
		return Inventory{}, fmt.Errorf("reading the packages of %q: %w", disk, err)
	}
	args := []string{"--ro", "--format=" + format, "-a", disk, "-i"}

	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return Inventory{}, fmt.Errorf("reading the packages of %q: %w", disk, err)
	}
	defer stdinW.Close()
	out := &markedBuffer{mark: make(chan struct{}, 4)}
	done := make(chan error, 1)
	go func() {
		defer stdinR.Close() // only once guestfish has ended: it may not have started yet
		done <- run.Run(ctx, run.Cmd{
			Name:    "guestfish",
			Args:    args,
			Env:     env,
			Stdin:   stdinR,
			Stdout:  out,
			Output:  o.Output,
			Timeout: o.Timeout,
			Log:     o.Log,
			Hint:    fmt.Sprintf("the libguestfs appliance did not start (%s; QEMU_ACCELERATOR=tcg forces TCG, LIBGUESTFS_DEBUG=1 shows where it stops)", accel.Line),
		})
	}()

	// First batch: the roots (the OS libguestfs found); the next batch
	// needs the root's device name.
	fmt.Fprintf(stdinW, "inspect-get-roots\necho %s\n", marker)
	var runErr error
	select {
	case <-out.mark:
	case runErr = <-done:
		return Inventory{}, fmt.Errorf("reading the packages of %q: %w", disk, errOr(runErr))
	}
	roots := out.section(0)
	if len(roots) == 0 {
		stdinW.Close()
		<-done
		return Inventory{}, fmt.Errorf("reading the packages of %q: libguestfs found no operating system on it", disk)
	}
	root := roots[0]
	for _, c := range []string{
		"inspect-get-distro " + root,
		"inspect-get-product-name " + root,
		"inspect-get-package-format " + root,
		"echo " + marker,
		"inspect-list-applications2 " + root,
		"echo " + marker,
		"-ls /lib/modules", // none in a container's root file system: not an error
		"echo " + marker,
	} {
		fmt.Fprintln(stdinW, c)
	}
	stdinW.Close()
	if runErr = <-done; runErr != nil {
		return Inventory{}, fmt.Errorf("reading the packages of %q: %w", disk, runErr)
	}
	return parse(out.sections())
}

func errOr(err error) error {
	if err == nil {
		return errors.New("guestfish ended before naming the disk's operating system")
	}
	return err
}

// parse reads the sections guestfish answered: roots, OS facts,
// applications, kernels.
func parse(s [][]string) (Inventory, error) {
	if len(s) < 4 || len(s[1]) < 3 {
		return Inventory{}, fmt.Errorf("reading guestfish's answer: want 4 sections, got %d", len(s))
	}
	inv := Inventory{Distro: s[1][0], Product: s[1][1], Format: s[1][2], Kernels: []string{}}
	pkgs, err := parseApplications(s[2])
	if err != nil {
		return Inventory{}, err
	}
	inv.Packages = pkgs
	for _, k := range s[3] {
		if k = strings.TrimSpace(k); k != "" {
			inv.Kernels = append(inv.Kernels, k)
		}
	}
	sort.Strings(inv.Kernels)
	return inv, nil
}

// parseApplications reads guestfish's print of the application2 structs.
// An entry starts at a line "[N] = {"; its fields are the lines indented by
// two spaces "  app2_<field>: <value>". Other lines (the continuation of
// a multi-line description, the closing "}") are skipped, so no text of a
// description can end an entry early.
//
//	[0] = {
//	  app2_name: adduser
//	  app2_epoch: 0
//	  app2_version: 3.134
//	  app2_release:
//	  app2_arch: all
//	  ...
//	}
func parseApplications(lines []string) ([]Package, error) {
	var out []Package
	var cur map[string]string
	var problems []error
	flush := func(line int) {
		if cur == nil {
			return
		}
		p, err := packageOf(cur)
		if err != nil {
			problems = append(problems, fmt.Errorf("entry before line %d: %w", line, err))
		} else {
			out = append(out, p)
		}
		cur = nil
	}
	for i, line := range lines {
		if entryRe.MatchString(line) {
			flush(i + 1)
			cur = map[string]string{}
			continue
		}
		if m := fieldRe.FindStringSubmatch(line); m != nil && cur != nil {
			if _, seen := cur[m[1]]; !seen {
				cur[m[1]] = strings.TrimSpace(m[2])
			}
		}
	}
	flush(len(lines) + 1)
	if len(problems) > 0 {
		return nil, fmt.Errorf("reading guestfish's application list: %w", errors.Join(problems...))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Arch < out[j].Arch
	})
	return out, nil
}

var (
	entryRe = regexp.MustCompile(`^\[[0-9]+\] = \{$`)
	fieldRe = regexp.MustCompile(`^  (app2_[a-z0-9_]+):(.*)$`)
)

// packageOf joins libguestfs's fields back into the version the package
// manager shows: [epoch:]version[-release].
func packageOf(f map[string]string) (Package, error) {
	name := f["app2_name"]
	if name == "" {
		return Package{}, errors.New("no app2_name")
	}
	v := f["app2_version"]
	if e, err := strconv.Atoi(f["app2_epoch"]); err == nil && e > 0 {
		v = strconv.Itoa(e) + ":" + v
	}
	if r := f["app2_release"]; r != "" {
		v += "-" + r
	}
	return Package{Name: name, Version: v, Arch: f["app2_arch"]}, nil
}

// diskFormat is the format guestfish is told for a disk, by its name.
func diskFormat(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".qcow2":
		return "qcow2"
	case ".vmdk":
		return "vmdk"
	case ".vdi":
		return "vdi"
	case ".raw", ".img":
		return "raw"
	}
	return ""
}

// markedBuffer keeps guestfish's stdout and signals each marker line.
type markedBuffer struct {
	buf  bytes.Buffer
	mark chan struct{}
	mu   sync.Mutex
}

func (b *markedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	before := bytes.Count(b.buf.Bytes(), []byte(marker+"\n"))
	n, _ := b.buf.Write(p)
	after := bytes.Count(b.buf.Bytes(), []byte(marker+"\n"))
	for range after - before {
		select {
		case b.mark <- struct{}{}:
		default:
		}
	}
	return n, nil
}

// sections splits what guestfish printed at the marker lines.
func (b *markedBuffer) sections() [][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out [][]string
	var cur []string
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if sc.Text() == marker {
			out = append(out, cur)
			cur = nil
			continue
		}
		cur = append(cur, sc.Text())
	}
	return out
}

func (b *markedBuffer) section(i int) []string {
	s := b.sections()
	if i < len(s) {
		return s[i]
	}
	return nil
}
