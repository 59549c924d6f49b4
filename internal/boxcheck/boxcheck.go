// Package boxcheck brings the Vagrant boxes of a catalog up for a look, as
// the original project's test/Vagrantfile did: each box of one version is
// added through the catalog into a Vagrant home of its own, booted with the
// provider the host has (libvirt, VirtualBox), logged into as vagrant with
// keys/vagrant, checked (the image record /etc/gold-standard-image, sshd
// answering, sudo) and destroyed, whatever happened.
package boxcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"gold-standard-images/internal/catalog"
	"gold-standard-images/internal/diskcheck"
	"gold-standard-images/internal/run"
)

// RecordFile is the image record the build writes (ansible/site.yml).
const RecordFile = "/etc/gold-standard-image"

// Options say what Run checks and how.
type Options struct {
	// Catalog is the Vagrant catalog, artifacts/<vm_name>.json.
	Catalog string
	// DebugCatalogs are the catalogs of the vm_name's debug boxes
	// (DebugCatalogs), checked too; a catalog that is missing is left out.
	DebugCatalogs []string
	// VMName is the vm_name the image record must name.
	VMName string
	// Version is the catalog version whose boxes are checked; empty is the
	// newest.
	Version string
	// KeyFile is the private key of the vagrant user (keys/vagrant).
	KeyFile string
	// Accelerator is "kvm" or "tcg" (kvm.Choose): the libvirt domain type.
	Accelerator string
	// Providers are the Vagrant providers this host runs, with why the
	// others are missing; nil detects them (HostProviders).
	Providers *Host
	// WorkDir holds the temporary folders (Vagrant home, project, libvirt
	// pool); empty is the system's temporary folder.
	WorkDir string
	// Out receives one line per box and check; nil discards them.
	Out io.Writer
	// Log receives the output of vagrant and virsh (mage -v); nil
	// discards it.
	Log io.Writer
}

// Box is one box of the catalog.
type Box struct {
	Name     string // <namespace>/<vm_name>, or <namespace>/<vm_name>-<provider folder> for a debug box
	Version  string
	Provider string // Vagrant provider: libvirt, virtualbox, vmware_desktop
	Catalog  string // the catalog it is added through
}

func (b Box) String() string { return fmt.Sprintf("%s v%s (%s)", b.Name, b.Version, b.Provider) }

// Check is the outcome of one check of a booted box.
type Check struct {
	Name   string // what was checked
	Detail string // what was seen
	Err    error
}

// Result is what happened to one box.
type Result struct {
	Box     Box
	Skipped string // why the box was not booted; empty when it was
	Checks  []Check
	Err     error // the first failure (adding, booting, a check, destroying)
}

// OK reports whether the box was booted and passed every check.
func (r Result) OK() bool { return r.Skipped == "" && r.Err == nil }

// String is the result in one line.
func (r Result) String() string {
	switch {
	case r.Skipped != "":
		return fmt.Sprintf("%s: skipped: %s", r.Box, r.Skipped)
	case r.Err != nil:
		return fmt.Sprintf("%s: FAILED: %v", r.Box, r.Err)
	}
	return fmt.Sprintf("%s: ok, %d checks passed", r.Box, len(r.Checks))
}

// Boxes reads the catalog at path and returns the boxes of version (empty:
// the newest version the catalog lists).
func Boxes(path, version string) ([]Box, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the Vagrant catalog %q: %w (run mage catalog)", path, err)
	}
	var c catalog.Catalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("reading the Vagrant catalog %q: %w", path, err)
	}
	if len(c.Versions) == 0 {
		return nil, fmt.Errorf("reading the Vagrant catalog %q: it lists no version", path)
	}
	v := c.Versions[len(c.Versions)-1] // catalog.Build sorts versions
	if version != "" {
		found, listed := false, make([]string, len(c.Versions))
		for i, cv := range c.Versions {
			listed[i] = cv.Version
			if cv.Version == version {
				v, found = cv, true
			}
		}
		if !found {
			return nil, fmt.Errorf("reading the Vagrant catalog %q: version %q (VERSION) is not in it; it lists %s", path, version, strings.Join(listed, ", "))
		}
	}
	var boxes []Box
	for _, p := range v.Providers {
		boxes = append(boxes, Box{Name: c.Name, Version: v.Version, Provider: p.Name, Catalog: path})
	}
	if len(boxes) == 0 {
		return nil, fmt.Errorf("reading the Vagrant catalog %q: version %q lists no box", path, v.Version)
	}
	return boxes, nil
}

// Run checks every box of the catalog's version that this host can boot,
// one after the other, and returns a result per box (skipped ones too).
// The error joins every failure; it is also an error when no box could be
// booted at all.
func Run(ctx context.Context, opts Options) ([]Result, error) {
	boxes, err := Boxes(opts.Catalog, opts.Version)
	if err != nil && !(errors.Is(err, fs.ErrNotExist) && len(opts.DebugCatalogs) > 0) {
		return nil, err
	}
	for _, c := range opts.DebugCatalogs {
		more, err := Boxes(c, opts.Version)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		boxes = append(boxes, more...)
	}
	if len(boxes) == 0 {
		return nil, fmt.Errorf("checking the Vagrant boxes: no catalog of %q or of its debug boxes (run mage catalog)", opts.Catalog)
	}
	if opts.KeyFile == "" {
		return nil, errors.New("checking the Vagrant boxes: no key file for the vagrant user (keys/vagrant): run mage keys")
	}
	if _, err := os.Stat(opts.KeyFile); err != nil {
		return nil, fmt.Errorf("checking the Vagrant boxes: the vagrant user's key: %w (run mage keys)", err)
	}
	host := opts.Providers
	if host == nil {
		h := HostProviders(ctx)
		host = &h
	}
	var results []Result
	var errs []error
	booted := 0
	for _, b := range boxes {
		if why, missing := host.Missing[b.Provider]; missing || !host.Has(b.Provider) {
			if why == "" {
				why = "this host has no " + b.Provider + " for Vagrant"
			}
			r := Result{Box: b, Skipped: why}
			say(opts.Out, "%s", r)
			results = append(results, r)
			continue
		}
		booted++
		r := checkBox(ctx, b, opts)
		say(opts.Out, "%s", r)
		results = append(results, r)
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("checking the Vagrant box %s: %w", b, r.Err))
		}
	}
	if booted == 0 {
		var why []string
		for _, r := range results {
			why = append(why, r.String())
		}
		errs = append(errs, fmt.Errorf("checking the Vagrant boxes of %q: this host can boot none of them:\n%s", opts.Catalog, strings.Join(why, "\n")))
	}
	return results, errors.Join(errs...)
}

// DebugCatalogs are the catalogs of vmName's debug boxes below artifactsDir
// (catalog.CatalogName of each debug box folder), whether written or not.
func DebugCatalogs(artifactsDir, vmName string) []string {
	var out []string
	for _, folder := range catalog.DebugBoxFolders() {
		out = append(out, filepath.Join(artifactsDir, catalog.CatalogName(vmName, folder)+".json"))
	}
	return out
}

// Host is what this host offers Vagrant.
type Host struct {
	Providers []string          // usable Vagrant providers
	Missing   map[string]string // provider: why it is not usable
}

// Has reports whether provider is usable.
func (h Host) Has(provider string) bool {
	for _, p := range h.Providers {
		if p == provider {
			return true
		}
	}
	return false
}

// HostProviders finds the Vagrant providers this host runs: libvirt when
// vagrant has the vagrant-libvirt plugin and libvirtd is installed or
// running, virtualbox when VBoxManage is installed.
func HostProviders(ctx context.Context) Host {
	h := Host{Missing: map[string]string{}}
	if _, err := exec.LookPath("vagrant"); err != nil {
		for _, p := range []string{"libvirt", "virtualbox", "vmware_desktop"} {
			h.Missing[p] = "vagrant is not installed"
		}
		return h
	}
	home, err := os.MkdirTemp("", "boxcheck-home-")
	if err == nil {
		defer os.RemoveAll(home)
		err = linkPlugins(home)
	}
	if err != nil {
		h.Missing["libvirt"] = fmt.Sprintf("making a Vagrant home: %v", err)
		return h
	}
	plugins, err := run.Output(ctx, run.Cmd{
		Name: "vagrant", Args: []string{"plugin", "list"}, Env: vagrantEnv(home),
		Timeout: 2 * time.Minute, Hint: "vagrant stalled loading its plugins",
	})
	switch {
	case err != nil:
		h.Missing["libvirt"] = fmt.Sprintf("vagrant plugin list failed: %v", err)
	case !strings.Contains(string(plugins), "vagrant-libvirt"):
		h.Missing["libvirt"] = "vagrant has no vagrant-libvirt plugin (apt-get install vagrant-libvirt)"
	case !libvirtAvailable():
		h.Missing["libvirt"] = "libvirt is not installed (apt-get install libvirt-daemon-system)"
	default:
		h.Providers = append(h.Providers, "libvirt")
	}
	if _, err := exec.LookPath("VBoxManage"); err == nil {
		h.Providers = append(h.Providers, "virtualbox")
	} else {
		h.Missing["virtualbox"] = "VirtualBox is not installed (no VBoxManage)"
	}
	h.Missing["vmware_desktop"] = "boxes:check does not boot VMware boxes (the vagrant-vmware-desktop plugin is not free)"
	return h
}

// checkBox adds, boots, checks and destroys one box. The cleanup runs even
// when ctx is cancelled, bounded on its own.
func checkBox(ctx context.Context, b Box, opts Options) (res Result) {
	res.Box = b
	started := time.Now()
	dir, err := os.MkdirTemp(opts.WorkDir, "boxcheck-")
	if err != nil {
		res.Err = fmt.Errorf("making a work folder: %w", err)
		return res
	}
	defer os.RemoveAll(dir)
	// libvirt's QEMU runs as its own user and must reach the pool inside.
	if err := os.Chmod(dir, 0o711); err != nil {
		res.Err = err
		return res
	}
	v := &vagrant{home: filepath.Join(dir, "home"), project: filepath.Join(dir, "project"), log: opts.Log}
	for _, d := range []string{v.home, v.project} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			res.Err = err
			return res
		}
	}
	if err := linkPlugins(v.home); err != nil {
		res.Err = err
		return res
	}
	cleanup := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), cleanupBound)
	}

	vf := vagrantfileFor{Box: b, KeyFile: opts.KeyFile, BootTimeout: bootTimeout(opts.Accelerator)}
	if b.Provider == "libvirt" {
		lv, err := startLibvirt(ctx, dir, opts.Log)
		if lv != nil {
			defer func() {
				cctx, cancel := cleanup()
				defer cancel()
				lv.stop(cctx)
			}()
		}
		if err != nil {
			res.Err = err
			return res
		}
		vf.Libvirt = &libvirtSettings{Driver: libvirtDriver(opts.Accelerator), Socket: lv.socket, Pool: lv.pool, Network: lv.network, Subnet: lv.subnet, Prefix: lv.prefix}
	}
	if err := os.WriteFile(filepath.Join(v.project, "Vagrantfile"), []byte(vf.render()), 0o644); err != nil {
		res.Err = fmt.Errorf("writing the Vagrantfile: %w", err)
		return res
	}

	abs, err := filepath.Abs(b.Catalog)
	if err != nil {
		res.Err = err
		return res
	}
	if _, err := v.run(ctx, addBound, "vagrant box add stalled (a large box on a slow disk, or a box URL that does not answer)",
		"box", "add", "--provider", b.Provider, "--box-version", b.Version, abs); err != nil {
		res.Err = fmt.Errorf("adding it through the catalog: %w", err)
		return res
	}
	say(opts.Out, "%s: added through %s", b, b.Catalog)
	if err := checkDisks(ctx, filepath.Join(v.home, "boxes")); err != nil {
		res.Err = fmt.Errorf("checking its disks before booting it: %w", err)
		return res
	}

	defer func() {
		cctx, cancel := cleanup()
		defer cancel()
		if _, err := v.run(cctx, cleanupBound, "vagrant destroy stalled", "destroy", "--force"); err != nil {
			res.Err = errors.Join(res.Err, fmt.Errorf("destroying it: %w", err))
			return
		}
		say(opts.Out, "%s: destroyed (%s in all)", b, time.Since(started).Round(time.Second))
	}()
	upStart := time.Now()
	if _, err := v.run(ctx, vf.BootTimeout+uploadBound, "the guest did not boot or its sshd did not answer (under TCG a boot takes minutes; see the serial console in the libvirt log)",
		"up", "--provider", b.Provider); err != nil {
		res.Err = fmt.Errorf("booting it: %w", err)
		return res
	}
	say(opts.Out, "%s: up in %s (%s), logged in as vagrant with %s", b, time.Since(upStart).Round(time.Second), accelName(b.Provider, opts.Accelerator), opts.KeyFile)

	for _, c := range checks {
		got := c.run(ctx, v, opts.VMName)
		res.Checks = append(res.Checks, got)
		if got.Err != nil {
			say(opts.Out, "%s: %s: FAILED: %v", b, got.Name, got.Err)
			if res.Err == nil {
				res.Err = fmt.Errorf("%s: %w", got.Name, got.Err)
			}
			continue
		}
		say(opts.Out, "%s: %s: ok (%s)", b, got.Name, got.Detail)
	}
	return res
}

// boxDisks are the formats of the disk files in a box, by extension: a
// libvirt box's box.img is a qcow2, the others carry VMDKs.
var boxDisks = map[string]string{".img": "qcow2", ".qcow2": "qcow2", ".vmdk": "vmdk", ".vdi": "vdi"}

// checkDisks refuses the added boxes below dir (Vagrant's boxes folder)
// when a disk in them is not of its format or refers to another file
// (diskcheck): a backing file or an extent elsewhere would have the
// hypervisor read a file of this host into the guest.
func checkDisks(ctx context.Context, dir string) error {
	var errs []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if format, ok := boxDisks[filepath.Ext(path)]; ok {
			_, err := diskcheck.Check(ctx, path, format, diskcheck.Options{})
			errs = append(errs, err)
		}
		return nil
	})
	return errors.Join(append(errs, err)...)
}

// Bounds of the vagrant commands; the boot's own is bootTimeout.
const (
	addBound     = 30 * time.Minute // copies and checksums the box
	uploadBound  = 20 * time.Minute // vagrant-libvirt copies the box image into the pool
	cleanupBound = 5 * time.Minute
	sshBound     = 2 * time.Minute
)

// bootTimeout is Vagrant's boot_timeout: TCG boots take minutes.
func bootTimeout(accel string) time.Duration {
	if accel == "kvm" {
		return 10 * time.Minute
	}
	return 20 * time.Minute
}

func libvirtDriver(accel string) string {
	if accel == "kvm" {
		return "kvm"
	}
	return "qemu"
}

func accelName(provider, accel string) string {
	if provider != "libvirt" {
		return provider
	}
	if accel == "kvm" {
		return "libvirt, KVM"
	}
	return "libvirt, TCG"
}

// vagrant runs vagrant in one project with its own home.
type vagrant struct {
	home, project string
	log           io.Writer
}

func vagrantEnv(home string) []string {
	env := []string{"VAGRANT_CHECKPOINT_DISABLE=1", "VAGRANT_NO_COLOR=1", "VAGRANT_DEFAULT_PROVIDER="}
	if home != "" {
		env = append(env, "VAGRANT_HOME="+home)
	}
	return env
}

// run runs vagrant args in the project and returns its stdout.
func (v *vagrant) run(ctx context.Context, bound time.Duration, hint string, args ...string) (string, error) {
	var out, stderr strings.Builder
	stdout, errs := io.Writer(&out), io.Writer(&stderr)
	if v.log != nil {
		stdout, errs = io.MultiWriter(&out, v.log), io.MultiWriter(&stderr, v.log)
	}
	err := run.Run(ctx, run.Cmd{
		Name: "vagrant", Args: args, Dir: v.project, Env: vagrantEnv(v.home),
		Stdout: stdout, Output: errs, Timeout: bound, Hint: hint,
	})
	var runErr *run.Error
	if errors.As(err, &runErr) {
		// Vagrant's own message comes first, then Ruby's backtrace.
		runErr.Tail = vagrantMessage(stderr.String())
	}
	return out.String(), err
}

// linkPlugins makes the plugins the user installed with vagrant plugin
// install (in ~/.vagrant.d) visible in the Vagrant home home; plugins
// installed with the system (Debian's vagrant-libvirt) need nothing.
func linkPlugins(home string) error {
	user, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	for _, name := range []string{"gems", "plugins.json"} {
		src := filepath.Join(user, ".vagrant.d", name)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if err := os.Symlink(src, filepath.Join(home, name)); err != nil {
			return fmt.Errorf("linking the user's Vagrant plugins: %w", err)
		}
	}
	return nil
}

// vagrantMessage is the message in vagrant's stderr: its first lines
// without the Ruby backtrace ("from ..." lines) and progress lines.
func vagrantMessage(stderr string) string {
	var lines []string
	for _, l := range strings.FieldsFunc(stderr, func(r rune) bool { return r == '\n' || r == '\r' }) {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "from ") || strings.Contains(t, "Progress:") {
			continue
		}
		if lines = append(lines, t); len(lines) == 15 {
			break
		}
	}
	return strings.Join(lines, "\n")
}

func say(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "boxes: "+format+"\n", args...)
	}
}
