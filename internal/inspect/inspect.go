// Package inspect proves on the built images what the provisioning was to
// do: it opens each provider's artifact read-only (a disk with one
// libguestfs session, docker's rootfs tarball in Go) and checks the rules
// of one table (Table) that apply to the provider and to the OS family
// libguestfs detects in the image, one line per rule.
package inspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/diskcheck"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sparse"
)

// Options tune Run and Image.
type Options struct {
	// Root is the repository root; empty is cfg.Root, or ".".
	Root string
	// Out receives one line per rule and provider; nil discards them.
	Out io.Writer
	// ToolOutput receives guestfish's messages (never the files it reads);
	// they also go to logs/<version>/<vm_name>/<provider>.inspect.log.
	ToolOutput io.Writer
	// Getenv reads QEMU_ACCELERATOR, LIBGUESTFS_BACKEND and
	// LIBGUESTFS_BACKEND_SETTINGS; nil is os.Getenv.
	Getenv func(string) string
	// Rules replaces Table (tests).
	Rules []Rule
	// BuildKey is the build's public SSH key (authorized_keys line); empty
	// reads <root>/keys/packer.pub when there.
	BuildKey string
	// KnownKeys are public keys (authorized_keys lines) that no shipped
	// image may authorize for any account, beside Vagrant's insecure keys;
	// Run adds the site's keys/packer.pub and keys/vagrant.pub when there.
	KnownKeys []string
}

// Report is the outcome of one image.
type Report struct {
	Provider string
	Artifact string // the file opened
	Distro   string
	Family   string
	Checks   []Outcome
}

// Outcome is one rule checked.
type Outcome struct {
	Rule Rule
	Err  error // nil: the rule holds
}

// Broken returns the error naming every rule that does not hold, or nil.
func (r Report) Broken() error {
	var errs []error
	for _, c := range r.Checks {
		if c.Err != nil {
			errs = append(errs, fmt.Errorf("%s: rule %q: %w", r.Provider, c.Rule.Name, c.Err))
		}
	}
	return errors.Join(errs...)
}

// Run inspects the artifact of each selected provider of cfg's build and
// prints one line per rule; the error names every broken rule and every
// image that could not be read.
func Run(ctx context.Context, cfg *config.Config, selected []providers.Provider, opts Options) ([]Report, error) {
	root := opts.Root
	if root == "" {
		root = cfg.Root
	}
	if root == "" {
		root = "."
	}
	if opts.BuildKey == "" {
		if key, err := os.ReadFile(filepath.Join(root, "keys", "packer.pub")); err == nil {
			opts.BuildKey = string(key)
		}
	}
	for _, name := range []string{"packer.pub", "vagrant.pub"} {
		if key, err := os.ReadFile(filepath.Join(root, "keys", name)); err == nil {
			opts.KnownKeys = append(opts.KnownKeys, string(key))
		}
	}
	var reports []Report
	var errs []error
	for _, p := range selected {
		dir := filepath.Join(root, cfg.Tree().ArtifactDir(p.Name))
		art, err := SourceOf(p.Name, dir, cfg.Tree().BaseName(p.Name))
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(out(opts), "inspect: %s: no artifact in %s, skipped\n", p.Name, dir)
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("inspecting %s: %w", p.Name, err))
			continue
		}
		rules := opts.Rules
		if rules == nil {
			rules = Table
		}
		keys := append([]string{opts.BuildKey}, opts.KnownKeys...)
		if inspected(art.Path, p.Name, keys, rules) {
			fmt.Fprintf(out(opts), "inspect: %s: %s up to date (its rules held, and it, the rules and the build key are unchanged since)\n", p.Name, filepath.Base(art.Path))
			continue
		}
		logPath := filepath.Join(root, strings.TrimSuffix(cfg.Tree().ConvertLog(p.Name), ".convert.log")+".inspect.log")
		rep, err := Inspect(ctx, p.Name, art, logPath, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("inspecting %s: %w", p.Name, err))
			continue
		}
		reports = append(reports, rep)
		broken := rep.Broken()
		if broken == nil {
			if err := markInspected(art.Path, p.Name, keys, rules); err != nil {
				fmt.Fprintf(out(opts), "inspect: %s: not recorded as inspected (it is inspected again next time): %v\n", p.Name, err)
			}
		}
		errs = append(errs, broken)
	}
	return reports, errors.Join(errs...)
}

func out(opts Options) io.Writer {
	if opts.Out == nil {
		return io.Discard
	}
	return opts.Out
}

// Inspect checks one artifact of provider (see SourceOf) with the rules
// for provider and the family found in it, printing a line per rule.
// logPath receives guestfish's messages; "" keeps none.
func Inspect(ctx context.Context, provider string, art Source, logPath string, opts Options) (Report, error) {
	rules := opts.Rules
	if rules == nil {
		rules = Table
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	pick := func(family string) []Rule { return Select(rules, provider, family) }
	rep := Report{Provider: provider, Artifact: art.Path}
	var im *Image
	var selected []Rule
	var err error
	if art.Format == Rootfs {
		var forProvider []Rule
		for _, r := range rules {
			if r.appliesTo(provider) {
				forProvider = append(forProvider, r)
			}
		}
		im, selected, err = readTarball(art.Path, forProvider, pick)
	} else {
		im, selected, err = readImage(ctx, art, logPath, pick, opts)
	}
	if err != nil {
		return rep, err
	}
	rep.Distro, rep.Family = im.Distro, im.Family
	w := out(opts)
	family := im.Family
	if family == "" {
		family = "unknown family"
	}
	fmt.Fprintf(w, "inspect: %s: %s (%s, %s): %d rule(s)\n", provider, filepath.Base(art.Path), im.Distro, family, len(selected))
	for _, r := range selected {
		err := im.Check(r, opts.BuildKey, opts.KnownKeys...)
		rep.Checks = append(rep.Checks, Outcome{Rule: r, Err: err})
		if err != nil {
			fmt.Fprintf(w, "inspect: %s: FAIL %s: %v\n", provider, r.Name, err)
		} else {
			fmt.Fprintf(w, "inspect: %s: ok   %s\n", provider, r.Name)
		}
	}
	return rep, nil
}

// readImage opens a disk image (extracting it first from an OVA or a GCP
// tarball) in one guestfish session, once diskcheck has found it standing
// alone in its format (a backing file would bring a host file in).
func readImage(ctx context.Context, art Source, logPath string, pick func(string) []Rule, opts Options) (*Image, []Rule, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(art.Path), ".inspect-")
	if err != nil {
		return nil, nil, fmt.Errorf("creating a temporary folder beside %q: %w", art.Path, err)
	}
	defer os.RemoveAll(tmp)
	disk, format, err := art.disk(ctx, tmp)
	if err != nil {
		return nil, nil, err
	}
	accel, err := kvm.Choose(ctx, opts.Getenv, "")
	if err != nil {
		return nil, nil, err
	}
	env := accel.GuestfishEnv(opts.Getenv)
	tools := opts.ToolOutput
	if tools == nil {
		tools = io.Discard
	}
	if logPath != "" {
		if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
			return nil, nil, fmt.Errorf("creating the inspection log: %w", err)
		}
		f, err := os.Create(logPath)
		if err != nil {
			return nil, nil, fmt.Errorf("creating the inspection log: %w", err)
		}
		defer f.Close()
		tools = io.MultiWriter(f, tools)
	}
	if _, err := diskcheck.Check(ctx, disk, format, diskcheck.Options{Output: tools, Log: logPath}); err != nil {
		if disk != art.Path {
			return nil, nil, fmt.Errorf("reading the disk %s of %q: %w", filepath.Base(disk), art.Path, err)
		}
		return nil, nil, err
	}
	return readDisk(ctx, disk, format, tmp, pick, run.Cmd{
		Env:     env,
		Output:  tools,
		Timeout: startup + time.Duration(sparse.Allocated(disk)/rate)*time.Second,
		Log:     logPath,
		Hint:    fmt.Sprintf("the libguestfs appliance did not start or stalled (%s; QEMU_ACCELERATOR=tcg or LIBGUESTFS_BACKEND_SETTINGS=force_tcg forces TCG, LIBGUESTFS_DEBUG=1 shows where it stops)", accel.Line),
	})
}

// The bound of a guestfish session: the appliance's start (about 45 s
// under TCG, far less with KVM) and the initramfs downloads, which grow
// with the disk; set far above what a loaded machine takes, so only a
// hang reaches it.
var (
	startup = 10 * time.Minute
	rate    = int64(4 << 20) // bytes of allocated disk per second
)
