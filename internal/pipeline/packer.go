package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/tree"
)

// groupStep runs the Packer builds of one group in parallel.
type groupStep struct {
	b     *build
	group []providers.Provider
}

func (s groupStep) String() string {
	return fmt.Sprintf("packer group %d (%s)", s.group[0].Group, strings.Join(providers.Names(s.group), ", "))
}

func (s groupStep) Skip() (bool, string) {
	for _, p := range s.group {
		if s.b.result(p).Status != UpToDate {
			return false, ""
		}
	}
	return true, "every build in it is up to date"
}

// Run starts one `packer build` per provider of the group that is not up to
// date and waits for all of them. A failed build is recorded in its Result
// and does not stop the others; only cancellation makes Run fail.
func (s groupStep) Run(ctx context.Context) error {
	b := s.b
	var wg sync.WaitGroup
	for _, p := range s.group {
		r := b.result(p)
		if r.Status == UpToDate {
			continue
		}
		fmt.Fprintf(b.opts.Out, "   %s: building, log %s\n", p.Name, r.Log)
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := b.packerBuild(ctx, p)
			r.settle(ctx, time.Since(start), err)
			if r.Status == Failed {
				r.Why = packerErrors(filepath.Join(b.cfg.Root, r.Log))
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-allDone:
	case <-ctx.Done():
		fmt.Fprintf(b.opts.Out, "   cancelling: Packer got SIGINT and deletes its VMs; waiting for it (if mage stops waiting, Packer finishes alone: see the logs)\n")
		<-allDone
	}
	for _, p := range s.group {
		b.sayOutcome(b.result(p))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("building %s: cancelled during %s: %w", b.cfg.OS.VMName, s, err)
	}
	return nil
}

// packerBuild runs one provider's `packer build`. Its staging output folder
// and its stamp are removed first (Packer refuses an existing output folder,
// and a stale stamp must not survive a failed build); on failure or
// cancellation the output folder is removed again so nothing half-written
// stays. The stamp is written only after success.
func (b *build) packerBuild(ctx context.Context, p providers.Provider) error {
	root, t := b.cfg.Root, b.cfg.Tree()
	outDir, stamp, err := b.clearOutput(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(outDir), 0o755); err != nil {
		return fmt.Errorf("creating the Packer output folder of %s: %w", p.Name, err)
	}
	args, err := b.command(p)
	if err != nil {
		return err
	}
	logPath := filepath.Join(root, t.Log(p.Name))
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return fmt.Errorf("creating the log folder of %s: %w", p.Name, err)
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("creating the build log of %s: %w", p.Name, err)
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "# %s %s\n# started %s\n", b.packer, strings.Join(args, " "), time.Now().Format(time.RFC3339))
	if b.opts.Verbose {
		stop := follow(logPath, &prefixWriter{w: b.opts.Out, prefix: p.Name + " | "})
		defer stop()
	}

	err = run.Run(ctx, run.Cmd{
		Name:   b.packer,
		Args:   args,
		Dir:    root,
		Env:    slices.Concat(packer.Env, []string{"PACKER_CACHE_DIR=" + filepath.Join(root, tree.PackerCache)}, b.opts.Env),
		Output: logFile,
		// Packer writes to the log itself, not through a pipe: if mage exits
		// during Packer's clean-up after Ctrl-C, Packer still finishes it
		// (within Grace: then run's watcher kills what is left).
		Direct: true,
		Grace:  b.opts.Grace,
		Group:  true, // SIGINT must reach the real Packer process, not only its wrapper
		// Packer waits for SSH up to ssh_timeout on its own; this bounds the
		// rest (a provisioner or shutdown that hangs, a stuck VM).
		Timeout: b.packerBound(),
		Log:     t.Log(p.Name),
		Hint:    packerHangHint,
	})
	if err != nil {
		fmt.Fprintf(logFile, "# failed: %v\n", firstLine(err))
		if b.onError == "abort" && ctx.Err() == nil {
			return err // its output stays for a look (Build says so)
		}
		if rmErr := os.RemoveAll(outDir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("removing the partial output of %s: %w", p.Name, rmErr))
		}
		return err
	}
	fmt.Fprintf(logFile, "# finished %s\n", time.Now().Format(time.RFC3339))
	if err := writeStamp(root, t.PackerOutput(p.Name), stamp, b.fingerprints[p.Name]); err != nil {
		return fmt.Errorf("recording the build of %s: %w", p.Name, err)
	}
	return nil
}

// settle records the outcome err of r's build, which took d.
func (r *Result) settle(ctx context.Context, d time.Duration, err error) {
	r.Duration = d
	switch {
	case err == nil:
		r.Status = OK
	case ctx.Err() != nil:
		r.Status, r.Err = Cancelled, ctx.Err()
	default:
		r.Status, r.Err = Failed, err
	}
}

// sayOutcome prints the line of r's build that ended: ok, or FAILED with
// the last reason found in its log (else its error).
func (b *build) sayOutcome(r *Result) {
	switch r.Status {
	case OK:
		fmt.Fprintf(b.opts.Out, "   %s: ok in %s\n", r.Provider, roundDuration(r.Duration))
	case Failed:
		why := firstLine(r.Err)
		if len(r.Why) > 0 {
			why = r.Why[len(r.Why)-1]
		}
		fmt.Fprintf(b.opts.Out, "   %s: FAILED after %s: %s\n", r.Provider, roundDuration(r.Duration), why)
	}
}

// clearOutput removes p's output folder and stamp before its build, and
// returns their paths.
func (b *build) clearOutput(p providers.Provider) (outDir, stamp string, err error) {
	root, t := b.cfg.Root, b.cfg.Tree()
	outDir, stamp = filepath.Join(root, t.PackerOutput(p.Name)), filepath.Join(root, t.Stamp(p.Name))
	for _, path := range []string{stamp, outDir} {
		if err := os.RemoveAll(path); err != nil {
			return "", "", fmt.Errorf("removing the previous output of %s: %w", p.Name, err)
		}
	}
	return outDir, stamp, nil
}

// packerHangHint is the likely cause of a `packer build` that never ends.
const packerHangHint = "the guest stopped answering (see the log's last lines: waiting for SSH means the install never finished), /dev/kvm that runs no guest (set QEMU_ACCELERATOR=tcg), or a full disk (df -h); PACKER_TIMEOUT sets the bound"

// Time a build may take after its SSH wait (provisioning, clean-up, zeroing
// the disk, shutdown, export), with KVM and under TCG emulation.
const (
	afterSSHWithKVM = time.Hour
	afterSSHWithTCG = 3 * time.Hour
)

// packerBound is how long one `packer build` may run: PACKER_TIMEOUT, else
// the site's ssh_timeout (which covers the boot and the install) plus the
// time after it, three times as long under TCG.
func (b *build) packerBound() time.Duration {
	if b.packerTimeout > 0 {
		return b.packerTimeout
	}
	ssh, err := time.ParseDuration(b.cfg.Site.SSHTimeout)
	if err != nil { // config validates it; stay bounded anyway
		ssh = time.Hour
	}
	if b.accelerator == "kvm" {
		return ssh + afterSSHWithKVM
	}
	return ssh + afterSSHWithTCG
}

// vars returns the variables of p's build.
func (b *build) vars(p providers.Provider) packer.Vars {
	v := packer.ForConfig(b.cfg, b.isoPath, b.ksPort)
	v.ISOChecksum = "sha256:" + b.isoSHA256
	if v.KSBaseURL == "" && b.deps.GuestKickstartURL != nil {
		// v.KSPort: the in-process server's, or the site's on this host's
		// loopback (packer.ForConfig).
		v.KSBaseURL = b.deps.GuestKickstartURL(p.Builder, v.KSPort)
	}
	v.Accelerator = b.accelerator
	if b.headless != nil {
		v.Headless = *b.headless
	}
	if b.opts.PackerVars != nil {
		b.opts.PackerVars(p, &v)
	}
	return v
}

// command writes p's variables to its var-file (tree.Build.VarFile) and
// returns the arguments of its `packer build` (packer.Command, as `mage
// validate` runs `packer validate`).
func (b *build) command(p providers.Provider) ([]string, error) {
	varFile := filepath.Join(b.cfg.Root, b.cfg.Tree().VarFile(p.Name))
	flags := []string{"-color=false", "-timestamp-ui"}
	if b.onError != "" {
		flags = append(flags, "-on-error="+b.onError)
	}
	args, err := packer.Command("build", varFile, b.vars(p), []providers.Provider{p}, flags...)
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", p.Name, err)
	}
	return args, nil
}

// firstLine shortens err to one line; for a failed command, the last line
// it printed says more than the exit status.
func firstLine(err error) string {
	if err == nil {
		return ""
	}
	var runErr *run.Error
	if errors.As(err, &runErr) {
		lines := strings.Split(strings.TrimSpace(runErr.Tail), "\n")
		if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
			return fmt.Sprintf("%v: %s", runErr.Err, last)
		}
		return runErr.Err.Error()
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}

// follow copies what is written to the file at path to w, as it comes,
// until the returned stop is called (which copies the rest first).
func follow(path string, w io.Writer) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		f, err := os.Open(path)
		if err != nil {
			return
		}
		defer f.Close()
		for {
			io.Copy(w, f)
			select {
			case <-done:
				io.Copy(w, f)
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return func() { close(done); <-finished }
}

// prefixWriter writes each line to w with a prefix (for -v output of
// parallel builds).
type prefixWriter struct {
	w       io.Writer
	prefix  string
	partial []byte
}

func (p *prefixWriter) Write(data []byte) (int, error) {
	p.partial = append(p.partial, data...)
	for {
		i := strings.IndexByte(string(p.partial), '\n')
		if i < 0 {
			break
		}
		_, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.partial[:i])
		if err != nil {
			return 0, err
		}
		p.partial = p.partial[i+1:]
	}
	return len(data), nil
}
