// Package pipeline runs one build of an OS definition from start to end:
// preflight, Packer binary, ISO, kickstart server, the Packer build groups,
// conversion, checksums and catalog. A build is a list of steps; the runner
// in this file prints the ">> step" lines, the timing and the skips in one
// place. The steps that live in other packages come in as Deps.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/tree"
)

// Step is one stage of a build.
type Step interface {
	String() string
	Run(ctx context.Context) error
}

// Skipper is a Step that may have nothing to do; Skip says so and why.
type Skipper interface {
	Skip() (skip bool, reason string)
}

// RunSteps runs steps in order, printing ">> <step>" before each one and its
// time after it, or why it was skipped. It stops at the first error or when
// ctx is done.
func RunSteps(ctx context.Context, out io.Writer, steps []Step) error {
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped before %s: %w", s, err)
		}
		if sk, ok := s.(Skipper); ok {
			if skip, reason := sk.Skip(); skip {
				fmt.Fprintf(out, ">> %s: %s, skipped\n", s, reason)
				continue
			}
		}
		fmt.Fprintf(out, ">> %s\n", s)
		start := time.Now()
		if err := s.Run(ctx); err != nil {
			fmt.Fprintf(out, ">> %s: failed after %s\n", s, roundDuration(time.Since(start)))
			return err
		}
		fmt.Fprintf(out, ">> %s: done in %s\n", s, roundDuration(time.Since(start)))
	}
	return nil
}

// Deps are the steps that other packages provide. Every field must be set;
// tests give stand-ins, the build targets the real packages.
type Deps struct {
	// PackerPath finds (or builds) the Packer binary and says its version.
	PackerPath func(ctx context.Context) (path, version string, err error)
	// FetchISO makes the verified ISO available locally.
	FetchISO func(ctx context.Context) (isoPath, sha256 string, err error)
	// StartKickstart starts the in-process kickstart server for the guests
	// of the selected providers (ONLY/EXCEPT, read through Options.Getenv);
	// stop shuts it down. It is not called when the site names its own
	// ks_server.
	StartKickstart func(ctx context.Context, selected []providers.Provider) (port int, stop func(), err error)
	// GuestKickstartURL, optional, is the kickstart base URL a guest of
	// builder reaches the in-process server at; nil leaves ks_base_url empty
	// so the templates use Packer's {{ .HTTPIP }} with ks_port.
	GuestKickstartURL func(b providers.Builder, port int) string
	// Bootstrap, needed by a family without an installer (config.Bootstrap)
	// and not called for the others, makes p's disk at disk (the file
	// Convert reads, where Packer would have left it), logging its tools'
	// output to logRel (relative to the root).
	Bootstrap func(ctx context.Context, p providers.Provider, disk, logRel string) error
	// Convert turns the Packer output of the providers into artifacts.
	Convert func(ctx context.Context, selected []providers.Provider) ([]tree.Artifact, error)
	// DebugBoxes, optional (DEBUG_BOXES=1), makes the debug boxes of the
	// providers after their artifacts. A failure leaves the artifacts as
	// they are: they are still recorded, checksummed and catalogued, and
	// the build fails at the end naming it.
	DebugBoxes func(ctx context.Context, selected []providers.Provider) ([]tree.Artifact, error)
	// Record, optional, writes what a build leaves beside each provider's
	// artifacts before they are checksummed (SBOM, manifest.json), so that
	// SHA256SUM covers it; it returns the files it wrote.
	Record func(ctx context.Context, facts Facts, arts []tree.Artifact) ([]tree.Artifact, error)
	// Checksum writes the SHA256SUM files of the artifacts.
	Checksum func(ctx context.Context, arts []tree.Artifact) error
	// Catalog writes the Vagrant catalogs of the artifacts tree at
	// artifactsDir (<root>/artifacts), which it scans itself.
	Catalog func(ctx context.Context, artifactsDir string) error
	// Inspect checks the artifacts of the providers on the images
	// themselves (internal/inspect); its error names each broken rule.
	Inspect func(ctx context.Context, selected []providers.Provider) error
}

// Facts are what a build learnt on its way that its record quotes.
type Facts struct {
	PackerVersion string
	ISOPath       string // empty when every build was up to date (no ISO fetched)
	ISOSHA256     string
	Started       time.Time
}

func (d Deps) check(installer config.Installer) error {
	var missing []string
	for name, set := range map[string]bool{
		"Bootstrap":      d.Bootstrap != nil || installer != config.Bootstrap,
		"PackerPath":     d.PackerPath != nil,
		"FetchISO":       d.FetchISO != nil,
		"StartKickstart": d.StartKickstart != nil,
		"Convert":        d.Convert != nil,
		"Checksum":       d.Checksum != nil,
		"Catalog":        d.Catalog != nil,
		"Inspect":        d.Inspect != nil,
	} {
		if !set {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("setting up the build pipeline: Deps %s not set", strings.Join(missing, ", "))
	}
	return nil
}

// Options change how a build runs; the zero value reads the process
// environment and prints to os.Stderr.
type Options struct {
	// Out receives the progress lines and the summary; nil is os.Stderr.
	Out io.Writer
	// Verbose also copies Packer's output to Out (it always goes to the logs).
	Verbose bool
	// Getenv reads ONLY, EXCEPT, FORCE, HEADLESS, PACKER_ON_ERROR,
	// PACKER_TIMEOUT, PATH and QEMU_ACCELERATOR (for the preflight); nil is
	// os.Getenv.
	Getenv func(string) string
	// Env is extra KEY=value environment for Packer.
	Env []string
	// Grace is how long Packer may take to clean up after SIGINT before it
	// is killed; 0 is 2 minutes.
	Grace time.Duration
	// KVMDevice is the device the preflight probes (kvm.Probe) to choose
	// the QEMU accelerator unless QEMU_ACCELERATOR is set; empty is /dev/kvm.
	KVMDevice string
	// PackerVars, optional, changes the variables of p's build after the
	// pipeline set them (the kickstart server's port is v.KSPort). The e2e
	// test uses it for its fixture guest; what it sets is not part of the
	// up-to-date check's fingerprint.
	PackerVars func(p providers.Provider, v *packer.Vars)
}

func (o Options) withDefaults() Options {
	if o.Out == nil {
		o.Out = os.Stderr
	}
	if _, ok := o.Out.(*syncWriter); !ok {
		o.Out = &syncWriter{w: o.Out} // parallel builds print to it
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Grace == 0 {
		o.Grace = 2 * time.Minute
	}
	if o.KVMDevice == "" {
		o.KVMDevice = "/dev/kvm"
	}
	return o
}

// Build runs the whole build of cfg's OS definition for the providers ONLY
// and EXCEPT select, and prints a summary table of the Packer builds. The
// results are returned even when err is not nil. The error names every
// failed build; a build that fails does not stop the others, and the
// providers that built are still converted, checksummed and catalogued.
func Build(ctx context.Context, cfg *config.Config, deps Deps, opts Options) ([]Result, error) {
	opts = opts.withDefaults()
	if err := deps.check(cfg.OS.Installer()); err != nil {
		return nil, err
	}
	selected, err := providers.SelectFromEnv(opts.Getenv)
	if err != nil {
		return nil, fmt.Errorf("selecting providers: %w", err)
	}
	selected, notes, err := familySelection(cfg, selected)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		fmt.Fprintf(opts.Out, "   note: %s\n", n)
	}
	force, err := envvar.Force.Or(opts.Getenv, false)
	if err != nil {
		return nil, err
	}
	// 0 derives the bound from ssh_timeout (packerBound).
	packerTimeout, err := envvar.PackerTimeout.Or(opts.Getenv, 0)
	if err != nil {
		return nil, err
	}
	headless, err := envvar.Headless.Or(opts.Getenv, cfg.Site.Headless)
	if err != nil {
		return nil, err
	}
	onError, err := envvar.PackerOnError.Get(opts.Getenv)
	if err != nil {
		return nil, err
	}
	b := &build{cfg: cfg, deps: deps, opts: opts, selected: selected, force: force, packerTimeout: packerTimeout, headless: &headless, onError: onError, started: time.Now().UTC()}
	if onError == "ask" {
		fmt.Fprintln(opts.Out, "   PACKER_ON_ERROR=ask: Packer runs without a terminal here (its output goes to its log), so it cleans up as with cleanup; abort keeps a failed VM for a look")
	}
	b.results = make([]Result, len(selected))
	for i, p := range selected {
		b.results[i] = Result{Provider: p.Name, Status: NotRun, Log: cfg.Tree().Log(p.Name)}
	}
	defer b.stopKickstart()

	steps := []Step{preflightStep{b}}
	if cfg.OS.Installer() == config.Bootstrap {
		steps = append(steps, planStep{b}, bootstrapStep{b})
	} else {
		steps = append(steps, packerStep{b}, planStep{b}, isoStep{b}, kickstartStep{b})
		for _, group := range providers.Groups(selected) {
			steps = append(steps, groupStep{b, group})
		}
	}
	steps = append(steps, convertStep{b})
	if deps.DebugBoxes != nil {
		steps = append(steps, debugBoxesStep{b})
	}
	if deps.Record != nil {
		steps = append(steps, recordStep{b})
	}
	steps = append(steps, checksumStep{b}, catalogStep{b}, inspectStep{b})

	runErr := RunSteps(ctx, opts.Out, steps)
	runErr = errors.Join(runErr, b.debugBoxesErr, b.recordErr)
	b.stopKickstart()
	if b.fingerprints != nil {
		writeSummary(opts.Out, b.results)
	}
	if failed := b.failed(); len(failed) > 0 {
		var names, whys []string
		for _, r := range failed {
			names = append(names, r.Provider)
			why := firstLine(r.Err) // stopped by its bound, or no log
			if len(r.Why) > 0 {
				why = strings.Join(r.Why, " / ")
			}
			whys = append(whys, fmt.Sprintf("\n  %s: %s (log %s)", r.Provider, why, r.Log))
		}
		if b.onError == "abort" {
			whys = append(whys, fmt.Sprintf("\n  PACKER_ON_ERROR=abort: their output stays in %s for a look, and a VirtualBox or VMware VM stays registered: unregister it before the next build", cfg.Tree().PackerOutputRoot()))
		}
		what := "packer build"
		if cfg.OS.Installer() == config.Bootstrap {
			what = "bootstrap"
		}
		runErr = errors.Join(runErr, fmt.Errorf("building %s: %s failed for %s:%s", cfg.OS.VMName, what, strings.Join(names, ", "), strings.Join(whys, "")))
	}
	return b.results, runErr
}

// build is the state the steps of one Build share.
type build struct {
	cfg      *config.Config
	deps     Deps
	opts     Options
	selected []providers.Provider
	force    bool
	// packerTimeout bounds each `packer build`; 0 derives it (packerBound).
	packerTimeout time.Duration
	headless      *bool  // HEADLESS over the site's headless; nil keeps the site's
	onError       string // PACKER_ON_ERROR: Packer's -on-error, empty for its default (cleanup)

	accelerator   string // "kvm" or "tcg"
	packer        string
	packerVersion string
	isoPath       string
	isoSHA256     string
	ksPort        int
	ksStop        func()
	fingerprints  map[string]string // provider -> fingerprint of its inputs
	results       []Result          // one per selected provider, in order
	artifacts     []tree.Artifact
	started       time.Time
	recordErr     error // the record step's, reported at the end
	debugBoxesErr error // the debug boxes step's, reported at the end
}

func (b *build) stopKickstart() {
	if b.ksStop != nil {
		b.ksStop()
		b.ksStop = nil
	}
}

func (b *build) result(p providers.Provider) *Result {
	for i := range b.results {
		if b.results[i].Provider == p.Name {
			return &b.results[i]
		}
	}
	panic("pipeline: no result for provider " + p.Name)
}

// allUpToDate reports whether no selected build needs Packer.
func (b *build) allUpToDate() bool {
	for _, r := range b.results {
		if r.Status != UpToDate {
			return false
		}
	}
	return true
}

// built lists the providers whose Packer output is there: built now or up to date.
func (b *build) built() []providers.Provider {
	var out []providers.Provider
	for _, p := range b.selected {
		if s := b.result(p).Status; s == OK || s == UpToDate {
			out = append(out, p)
		}
	}
	return out
}

func (b *build) failed() []Result {
	var out []Result
	for _, r := range b.results {
		if r.Status == Failed {
			out = append(out, r)
		}
	}
	return out
}

// The steps, in the order Build runs them.

type packerStep struct{ b *build }

func (s packerStep) String() string { return "packer" }
func (s packerStep) Run(ctx context.Context) error {
	path, version, err := s.b.deps.PackerPath(ctx)
	if err != nil {
		return fmt.Errorf("finding the Packer binary: %w", err)
	}
	s.b.packer, s.b.packerVersion = path, version
	fmt.Fprintf(s.b.opts.Out, "   %s (version %s)\n", path, version)
	return nil
}

// planStep decides which builds are up to date, so that the ISO and the
// kickstart server are skipped when no build needs them.
type planStep struct{ b *build }

func (s planStep) String() string { return "up-to-date check" }
func (s planStep) Run(ctx context.Context) error {
	b := s.b
	fps, err := fingerprints(b.cfg, b.selected, b.packerVersion)
	if err != nil {
		return err
	}
	b.fingerprints = fps
	for _, p := range b.selected {
		r := b.result(p)
		switch ok, why := upToDate(b.cfg.Root, fps[p.Name], b.cfg.Tree().Stamp(p.Name)); {
		case b.force:
			fmt.Fprintf(b.opts.Out, "   %s: FORCE=1, rebuilding\n", p.Name)
		case ok:
			r.Status = UpToDate
			fmt.Fprintf(b.opts.Out, "   %s: up to date (inputs unchanged since its last successful build; FORCE=1 rebuilds)\n", p.Name)
		default:
			fmt.Fprintf(b.opts.Out, "   %s: to build (%s)\n", p.Name, why)
		}
	}
	return nil
}

type isoStep struct{ b *build }

func (s isoStep) String() string { return "iso: " + s.b.cfg.OS.ISOFile() }
func (s isoStep) Skip() (bool, string) {
	return s.b.allUpToDate(), "every build is up to date"
}
func (s isoStep) Run(ctx context.Context) error {
	path, sum, err := s.b.deps.FetchISO(ctx)
	if err != nil {
		return err
	}
	s.b.isoPath, s.b.isoSHA256 = path, strings.ToLower(sum)
	return nil
}

type kickstartStep struct{ b *build }

func (s kickstartStep) String() string { return "kickstart server" }
func (s kickstartStep) Skip() (bool, string) {
	if s.b.allUpToDate() {
		return true, "every build is up to date"
	}
	if ks := s.b.cfg.Site.KSServer; ks != "" {
		return true, fmt.Sprintf("the site's ks_server %q serves the kickstarts", ks)
	}
	return false, ""
}
func (s kickstartStep) Run(ctx context.Context) error {
	port, stop, err := s.b.deps.StartKickstart(ctx, s.b.selected)
	if err != nil {
		return fmt.Errorf("starting the kickstart server: %w", err)
	}
	s.b.ksPort, s.b.ksStop = port, stop
	fmt.Fprintf(s.b.opts.Out, "   listening on port %d\n", port)
	return nil
}

type convertStep struct{ b *build }

func (s convertStep) String() string { return "convert" }
func (s convertStep) Skip() (bool, string) {
	return len(s.b.built()) == 0, "no build succeeded"
}
func (s convertStep) Run(ctx context.Context) error {
	arts, err := s.b.deps.Convert(ctx, s.b.built())
	s.b.artifacts = arts
	return err
}

type debugBoxesStep struct{ b *build }

func (s debugBoxesStep) String() string { return "debug boxes" }
func (s debugBoxesStep) Skip() (bool, string) {
	return len(s.b.artifacts) == 0, "no artifacts"
}
func (s debugBoxesStep) Run(ctx context.Context) error {
	b := s.b
	boxes, err := b.deps.DebugBoxes(ctx, b.built())
	b.artifacts = append(b.artifacts, boxes...)
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(b.opts.Out, "   failed: %v\n", err)
		b.debugBoxesErr = err
		return nil
	}
	return err
}

type recordStep struct{ b *build }

func (s recordStep) String() string { return "build record and SBOM" }
func (s recordStep) Skip() (bool, string) {
	return len(s.b.artifacts) == 0, "no artifacts"
}
func (s recordStep) Run(ctx context.Context) error {
	b := s.b
	made, err := b.deps.Record(ctx, Facts{PackerVersion: b.packerVersion, ISOPath: b.isoPath, ISOSHA256: b.isoSHA256, Started: b.started}, b.artifacts)
	b.artifacts = append(b.artifacts, made...)
	if err != nil && ctx.Err() == nil {
		// The artifacts are there all the same: they are still checksummed
		// and catalogued, and the build fails at the end naming this.
		fmt.Fprintf(b.opts.Out, "   failed: %v\n", err)
		b.recordErr = err
		return nil
	}
	return err
}

type checksumStep struct{ b *build }

func (s checksumStep) String() string { return "checksums" }
func (s checksumStep) Skip() (bool, string) {
	return len(s.b.artifacts) == 0, "no artifacts"
}
func (s checksumStep) Run(ctx context.Context) error {
	return s.b.deps.Checksum(ctx, s.b.artifacts)
}

type catalogStep struct{ b *build }

func (s catalogStep) String() string { return "vagrant catalog" }
func (s catalogStep) Skip() (bool, string) {
	return len(s.b.artifacts) == 0, "no artifacts"
}
func (s catalogStep) Run(ctx context.Context) error {
	return s.b.deps.Catalog(ctx, filepath.Join(s.b.cfg.Root, tree.ArtifactsDir))
}

// inspectStep runs last, so that a broken rule fails the build with the
// artifacts, checksums and catalog written for a look at them.
type inspectStep struct{ b *build }

func (s inspectStep) String() string { return "inspect" }
func (s inspectStep) Skip() (bool, string) {
	return len(s.b.artifacts) == 0, "no artifacts"
}
func (s inspectStep) Run(ctx context.Context) error {
	return s.b.deps.Inspect(ctx, s.b.built())
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond)
	default:
		return d.Round(100 * time.Millisecond)
	}
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
