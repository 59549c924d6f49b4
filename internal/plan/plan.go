// Package plan splits the builds of several OS definitions into CI jobs
// (`mage plan`): one job per vm_name and runner capability, each with its
// providers, the runner labels it needs, the artifact folders it writes and
// the cache key of its inputs, which is the fingerprint that makes a local
// build skip when it is up to date (pipeline.Fingerprints).
//
// A job is (vm_name, build group, runner capability). The build groups keep
// hypervisors that cannot run side by side on one host apart; on CI each job
// has a runner of its own, so the only thing left to decide is which runner
// a job needs. Group 2 holds QEMU (kvm) and VMware builds: a job needing both
// would need one host with both hypervisors, which no hosted runner is, and a
// missing VMware host would hold back the four QEMU providers. So group 2
// splits by capability, and every job needs exactly one kind of runner.
package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/pipeline"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/tree"
)

// Capability is what a runner must offer to run a job's builds.
type Capability string

// The runner capabilities, one per Packer builder.
const (
	KVM        Capability = "kvm"
	VirtualBox Capability = "virtualbox"
	VMware     Capability = "vmware"
)

// Capabilities maps each Packer builder to the runner capability it needs.
var Capabilities = map[providers.Builder]Capability{
	providers.QEMU:       KVM,
	providers.VirtualBox: VirtualBox,
	providers.VMware:     VMware,
}

// RunsOn is the `runs-on` labels of a job needing each capability: KVM on
// GitHub's hosted Linux runners (they expose /dev/kvm), VirtualBox and
// VMware on self-hosted runners registered with that label.
var RunsOn = map[Capability][]string{
	KVM:        {"ubuntu-24.04"},
	VirtualBox: {"self-hosted", "linux", "virtualbox"},
	VMware:     {"self-hosted", "linux", "vmware"},
}

// Job is one CI job: the builds of one vm_name that one runner makes.
type Job struct {
	// ID names the job and its uploaded artifact: <vm_name>-g<group>-<capability>.
	ID         string     `json:"id"`
	VMName     string     `json:"vm_name"`
	Version    string     `json:"version"`
	Group      int        `json:"group"`
	Capability Capability `json:"capability"`
	RunsOn     []string   `json:"runs_on"`
	Providers  []string   `json:"providers"`
	// Only is Providers comma-separated: the job's ONLY.
	Only string `json:"only"`
	// Folders are the artifact folders the job writes, one per provider:
	// artifacts/<version>/<vm_name>/<provider>.
	Folders []string `json:"folders"`
	// Fingerprints are the providers' fingerprints (pipeline.Fingerprints).
	Fingerprints map[string]string `json:"fingerprints"`
	// CacheKey is <vm_name>-<capability>-<sha256 of the fingerprints>: it
	// changes exactly when the inputs of one of the job's builds change.
	CacheKey string `json:"cache_key"`
	// CachePaths are what a later run needs to skip the job's builds (the
	// stamps, Packer's output, the artifact folders), newline-separated as
	// actions/cache takes them.
	CachePaths string `json:"cache_paths"`
	// UploadPaths are the job's manifest (see ManifestFile) and Folders,
	// newline-separated as actions/upload-artifact takes them; the manifest
	// at the root keeps the folders' paths whole in the uploaded artifact.
	UploadPaths string `json:"upload_paths"`
	// ISOPath and ISOCacheKey let CI keep the ISO between runs.
	ISOPath     string `json:"iso_path"`
	ISOCacheKey string `json:"iso_cache_key"`
}

// ManifestFile is the file (relative to the root) a build job writes with
// its Job before uploading; it marks the root of the uploaded artifact.
const ManifestFile = ".gsi-job.json"

// Problem is a vm_name that could not be planned.
type Problem struct {
	VMName string `json:"vm_name"`
	Error  string `json:"error"`
}

// Plan is the output of `mage plan`.
type Plan struct {
	PackerVersion string    `json:"packer_version"`
	VMNames       []string  `json:"vm_names"` // planned, sorted
	Jobs          []Job     `json:"jobs"`
	Problems      []Problem `json:"problems"`
	Warnings      []string  `json:"warnings"`
}

// Options change how Make plans; the zero value is fine.
type Options struct {
	// PackerVersion is the version the builds will run; empty is the one
	// packer.Installed finds, else packer.PinnedVersion.
	PackerVersion string
}

// Make plans the builds of vmNames (all definitions in templates/os/ when
// empty) below root for the providers ONLY and EXCEPT select (read, like
// VERSION, PACKER and PATH, through getenv). A definition that does not
// load is a Problem of its vm_name; the others are still planned. The error
// is for what stops the whole plan: a bad ONLY/EXCEPT or site file, no
// definitions, a plan that fails Check.
func Make(ctx context.Context, root string, vmNames []string, getenv func(string) string, opts Options) (Plan, error) {
	selected, err := providers.SelectFromEnv(getenv)
	if err != nil {
		return Plan{}, fmt.Errorf("planning: selecting providers: %w", err)
	}
	if _, _, err := config.LoadSite(root, getenv); err != nil {
		return Plan{}, fmt.Errorf("planning: %w", err)
	}
	if len(vmNames) == 0 {
		if vmNames, err = config.Available(root); err != nil {
			return Plan{}, fmt.Errorf("planning: %w", err)
		}
	}
	if opts.PackerVersion == "" {
		_, v, err := packer.Installed(ctx, getenv, nil)
		if err != nil {
			return Plan{}, fmt.Errorf("planning: %w", err)
		}
		opts.PackerVersion = v
	}
	if opts.PackerVersion == "" {
		opts.PackerVersion = packer.PinnedVersion
	}

	p := Plan{PackerVersion: opts.PackerVersion, VMNames: []string{}, Jobs: []Job{}, Problems: []Problem{}, Warnings: []string{}}
	for _, vm := range sortedUnique(vmNames) {
		cfg, err := config.Load(root, vm, getenv, config.Options{})
		if err != nil {
			p.Problems = append(p.Problems, Problem{VMName: vm, Error: err.Error()})
			continue
		}
		if cfg.OS.Installer() == config.Bootstrap {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s is not planned: family %q bootstraps as root with mmdebstrap, which the workflow's runners do not run yet; build it with `mage build:os %s`", vm, cfg.OS.Family, vm))
			continue
		}
		jobs, err := jobsOf(cfg, selected, opts.PackerVersion, getenv)
		if err != nil {
			p.Problems = append(p.Problems, Problem{VMName: vm, Error: err.Error()})
			continue
		}
		p.VMNames = append(p.VMNames, vm)
		p.Jobs = append(p.Jobs, jobs...)
	}
	for _, k := range pipeline.InputFiles {
		if _, err := os.Stat(filepath.Join(root, k)); errors.Is(err, fs.ErrNotExist) && len(p.Jobs) > 0 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s is absent: each job would make its own key pair, so no cached build would ever be up to date; write the keys from the CI secret store before planning and building", k))
		}
	}
	return p, p.Check()
}

// jobsOf splits one OS definition's selected providers into jobs.
func jobsOf(cfg *config.Config, selected []providers.Provider, packerVersion string, getenv func(string) string) ([]Job, error) {
	fps, err := pipeline.Fingerprints(cfg, selected, packerVersion)
	if err != nil {
		return nil, fmt.Errorf("planning %s: %w", cfg.OS.VMName, err)
	}
	b := cfg.Tree()
	iso := filepath.Join(tree.ISOCache(cfg.Root, getenv), cfg.OS.ISOFile())
	if rel, err := filepath.Rel(cfg.Root, iso); err == nil && filepath.IsLocal(rel) {
		iso = rel
	}
	var jobs []Job
	for _, group := range providers.Groups(selected) {
		byCap := map[Capability][]providers.Provider{}
		var caps []Capability
		for _, pr := range group {
			c, ok := Capabilities[pr.Builder]
			if !ok {
				return nil, fmt.Errorf("planning %s: provider %q: builder %q has no runner capability in plan.Capabilities", cfg.OS.VMName, pr.Name, pr.Builder)
			}
			if _, ok := byCap[c]; !ok {
				caps = append(caps, c)
			}
			byCap[c] = append(byCap[c], pr)
		}
		sort.Slice(caps, func(i, j int) bool { return caps[i] < caps[j] })
		for _, c := range caps {
			ps := byCap[c]
			j := Job{
				ID:           fmt.Sprintf("%s-g%d-%s", cfg.OS.VMName, ps[0].Group, c),
				VMName:       cfg.OS.VMName,
				Version:      b.Version,
				Group:        ps[0].Group,
				Capability:   c,
				RunsOn:       RunsOn[c],
				Providers:    providers.Names(ps),
				Fingerprints: map[string]string{},
				ISOPath:      filepath.ToSlash(iso),
				ISOCacheKey:  "iso-" + strings.ToLower(cfg.OS.ISOChecksum),
			}
			j.Only = strings.Join(j.Providers, ",")
			key := sha256.New()
			cache := []string{}
			for _, pr := range ps {
				j.Fingerprints[pr.Name] = fps[pr.Name]
				fmt.Fprintf(key, "%s %s\n", pr.Name, fps[pr.Name])
				folder := filepath.ToSlash(b.ArtifactDir(pr.Name))
				j.Folders = append(j.Folders, folder)
				cache = append(cache, filepath.ToSlash(b.Stamp(pr.Name)), filepath.ToSlash(b.PackerOutput(pr.Name)), folder)
			}
			j.CacheKey = fmt.Sprintf("%s-%s-%s", cfg.OS.VMName, c, hex.EncodeToString(key.Sum(nil)))
			j.CachePaths = strings.Join(cache, "\n")
			j.UploadPaths = strings.Join(append([]string{ManifestFile}, j.Folders...), "\n")
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}

// Check proves that the jobs can run in parallel and be merged: no two jobs
// share an ID, a cache key or an artifact folder, and every folder is
// artifacts/<version>/<vm_name>/<provider> of its own job. Every problem is
// reported at once.
func (p Plan) Check() error {
	var problems []error
	ids := map[string]string{}
	keys := map[string]string{}
	folders := map[string]string{}
	for _, j := range p.Jobs {
		if other, ok := ids[j.ID]; ok {
			problems = append(problems, fmt.Errorf("checking the plan: two jobs are called %q (%s)", j.ID, other))
		}
		ids[j.ID] = j.ID
		if other, ok := keys[j.CacheKey]; ok {
			problems = append(problems, fmt.Errorf("checking the plan: jobs %q and %q share the cache key %q", other, j.ID, j.CacheKey))
		}
		keys[j.CacheKey] = j.ID
		if len(j.Folders) != len(j.Providers) {
			problems = append(problems, fmt.Errorf("checking the plan: job %q has %d providers but %d folders", j.ID, len(j.Providers), len(j.Folders)))
		}
		for i, f := range j.Folders {
			if i < len(j.Providers) {
				if want := path.Join(tree.ArtifactsDir, j.Version, j.VMName, j.Providers[i]); f != want {
					problems = append(problems, fmt.Errorf("checking the plan: job %q writes folder %q, want %q", j.ID, f, want))
				}
			}
			if other, ok := folders[f]; ok {
				problems = append(problems, fmt.Errorf("checking the plan: jobs %q and %q both write %q", other, j.ID, f))
				continue
			}
			folders[f] = j.ID
		}
	}
	return errors.Join(problems...)
}

// Err is nil when every vm_name was planned. Otherwise, when the vm_names
// were named (named), it is one error listing every problem; a plan of all
// definitions takes its problems as warnings (a definition whose ISO the
// site has not supplied, say), so Err is nil unless nothing was planned.
func (p Plan) Err(named bool) error {
	if len(p.Problems) == 0 || (!named && len(p.Jobs) > 0) {
		return nil
	}
	lines := make([]string, len(p.Problems))
	for i, pr := range p.Problems {
		lines[i] = "  " + pr.VMName + ": " + pr.Error
	}
	return fmt.Errorf("planning: %d vm_name(s) not planned:\n%s", len(p.Problems), strings.Join(lines, "\n"))
}

// Job returns the job called id.
func (p Plan) Job(id string) (Job, bool) {
	for _, j := range p.Jobs {
		if j.ID == id {
			return j, true
		}
	}
	return Job{}, false
}

// Marshal renders the plan as indented JSON with a final newline.
func (p Plan) Marshal() ([]byte, error) {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Read reads a plan written by Marshal from path and checks it.
func Read(path string) (Plan, error) {
	var p Plan
	data, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("reading the plan: %w", err)
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("reading the plan %q: %w", path, err)
	}
	if err := p.Check(); err != nil {
		return p, fmt.Errorf("reading the plan %q: %w", path, err)
	}
	return p, nil
}

func sortedUnique(names []string) []string {
	out := append([]string(nil), names...)
	sort.Strings(out)
	return slices.Compact(out)
}
