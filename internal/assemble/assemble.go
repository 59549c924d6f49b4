// Package assemble merges the artifact folders that CI build jobs uploaded
// into one artifacts tree (`mage artifacts:assemble`), refusing what cannot
// be trusted: a folder whose SHA256SUM does not verify on arrival, a folder
// its job was not planned to write, a folder that arrives twice with
// different content, or one that differs from the folder already in place.
//
// The incoming folder holds one sub-folder per job, named by the job's ID
// (actions/download-artifact makes one per artifact):
//
//	<incoming>/<job id>/.gsi-job.json                          the job (plan.ManifestFile)
//	<incoming>/<job id>/artifacts/<version>/<vm_name>/<provider>/...
package assemble

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/plan"
	"gold-standard-images/internal/tree"
)

// Options change how Assemble reports; the zero value is fine.
type Options struct {
	// Out receives one line per folder; nil discards them.
	Out io.Writer
	// CheckFolder, optional, refuses a verified folder whose SHA256SUM
	// signature does not hold (release.CheckSignature).
	CheckFolder func(dir string) error
}

// Status is what became of one arriving folder.
type Status string

// The outcomes of a folder.
const (
	Placed  Status = "placed"                                   // moved into the artifacts tree
	Present Status = "already in place"                         // the same folder was there
	Refused Status = "refused"                                  // see Folder.Why
	Twin    Status = "same content as another arrival, dropped" // a second, identical arrival
)

// Folder is one provider folder as it arrived from one job.
type Folder struct {
	Job    string // the job (incoming sub-folder) it came with
	Rel    string // artifacts/<version>/<vm_name>/<provider>, slash-separated
	Status Status
	Why    string // why it was refused
}

// String is the line the target prints.
func (f Folder) String() string {
	s := fmt.Sprintf("%s from job %s: %s", f.Rel, f.Job, f.Status)
	if f.Why != "" {
		s += ": " + f.Why
	}
	return s
}

// arrival is a folder found in the incoming tree.
type arrival struct {
	job     string
	rel     string
	dir     string   // where it is now
	sum     []byte   // its SHA256SUM, canonical (checksum.Format)
	raw     []byte   // its SHA256SUM as it arrived (what a signature covers)
	names   []string // the files SHA256SUM lists
	refused string
}

// Assemble moves every provider folder below incoming into root's artifacts
// tree (root/artifacts/...), after verifying it. With p (the plan the jobs
// ran), a job sub-folder must be a job of p, its manifest (if any) must be
// that job, and it may only bring that job's folders. Only the files the
// folder's SHA256SUM lists and SHA256SUM itself are moved; hidden files
// (caches such as convert's records) stay behind. The result lists every
// folder; the error names every refused one, after the others were placed.
func Assemble(ctx context.Context, root, incoming string, p *plan.Plan, opts Options) ([]Folder, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	entries, err := os.ReadDir(incoming)
	if err != nil {
		return nil, fmt.Errorf("assembling: reading the incoming folder: %w", err)
	}
	var arrivals []arrival
	var problems []error
	for _, e := range entries {
		if !e.IsDir() || tree.Hidden(e.Name()) {
			continue
		}
		as, err := arrive(ctx, filepath.Join(incoming, e.Name()), e.Name(), p, opts.CheckFolder)
		if err != nil {
			problems = append(problems, err)
		}
		arrivals = append(arrivals, as...)
	}

	byRel := map[string][]arrival{}
	var rels []string
	for _, a := range arrivals {
		if _, ok := byRel[a.rel]; !ok {
			rels = append(rels, a.rel)
		}
		byRel[a.rel] = append(byRel[a.rel], a)
	}
	sort.Strings(rels)
	var out []Folder
	for _, rel := range rels {
		fs := settle(root, byRel[rel])
		for _, f := range fs {
			fmt.Fprintf(opts.Out, "assemble: %s\n", f)
			if f.Status == Refused {
				problems = append(problems, fmt.Errorf("assembling %q from job %q: refused: %s", f.Rel, f.Job, f.Why))
			}
		}
		out = append(out, fs...)
	}
	if p != nil {
		for _, j := range p.Jobs {
			for _, f := range j.Folders {
				if _, ok := byRel[f]; !ok {
					fmt.Fprintf(opts.Out, "assemble: %s from job %s: did not arrive\n", f, j.ID)
				}
			}
		}
	}
	counts := map[Status]int{}
	for _, f := range out {
		counts[f.Status]++
	}
	fmt.Fprintf(opts.Out, "assemble: %d folder(s) placed, %d already in place, %d refused\n", counts[Placed], counts[Present], counts[Refused])
	return out, errors.Join(problems...)
}

// arrive lists and verifies the folders one job brought. The error is for
// a job sub-folder that cannot be taken at all.
func arrive(ctx context.Context, dir, job string, p *plan.Plan, check func(string) error) ([]arrival, error) {
	var planned []string
	if p != nil {
		j, ok := p.Job(job)
		if !ok {
			return nil, fmt.Errorf("assembling %q: refused: %q is no job of the plan", dir, job)
		}
		if err := checkManifest(dir, j); err != nil {
			return nil, err
		}
		planned = j.Folders
	}
	artifacts := filepath.Join(dir, tree.ArtifactsDir)
	folders, err := tree.Scan(artifacts)
	if err != nil {
		return nil, fmt.Errorf("assembling the folders of job %q: refused: %w", job, err)
	}
	mismatches, err := checksum.VerifyTree(ctx, artifacts)
	if err != nil {
		return nil, fmt.Errorf("assembling the folders of job %q: %w", job, err)
	}
	bad := map[string][]string{}
	for _, m := range mismatches {
		bad[m.Dir] = append(bad[m.Dir], m.String())
	}
	var out []arrival
	for _, f := range folders {
		a := arrival{job: job, dir: f.Dir, rel: path.Join(tree.ArtifactsDir, f.Version, f.VMName, f.Provider)}
		switch {
		case p != nil && !slices.Contains(planned, a.rel):
			a.refused = "the plan does not have job " + job + " write it (" + plannedBy(p, a.rel) + ")"
		case len(bad[f.Dir]) > 0:
			a.refused = checksum.FileName + " does not verify: " + strings.Join(bad[f.Dir], "; ")
		default:
			if check != nil {
				if err := check(f.Dir); err != nil {
					a.refused = err.Error()
					break
				}
			}
			a.sum, a.names, a.refused = readSum(f.Dir)
			a.raw, _ = os.ReadFile(filepath.Join(f.Dir, checksum.FileName))
		}
		out = append(out, a)
	}
	return out, nil
}

// plannedBy says which job of p writes the folder rel.
func plannedBy(p *plan.Plan, rel string) string {
	for _, j := range p.Jobs {
		if slices.Contains(j.Folders, rel) {
			return "job " + j.ID + " does"
		}
	}
	return "no job does"
}

// checkManifest makes sure the job the build wrote beside its folders is
// the planned job with the planned inputs, when it wrote one.
func checkManifest(dir string, want plan.Job) error {
	data, err := os.ReadFile(filepath.Join(dir, plan.ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("assembling %q: %w", dir, err)
	}
	var got plan.Job
	if err := json.Unmarshal(data, &got); err != nil {
		return fmt.Errorf("assembling %q: refused: reading %s: %w", dir, plan.ManifestFile, err)
	}
	if got.ID != want.ID || got.CacheKey != want.CacheKey {
		return fmt.Errorf("assembling %q: refused: %s is job %q with cache key %q, the plan has %q with %q", dir, plan.ManifestFile, got.ID, got.CacheKey, want.ID, want.CacheKey)
	}
	return nil
}

// readSum returns a verified folder's SHA256SUM in canonical form and the
// names it lists, or why the folder cannot be moved.
func readSum(dir string) (sum []byte, names []string, refused string) {
	sumPath := filepath.Join(dir, checksum.FileName)
	data, err := os.ReadFile(sumPath)
	if err != nil {
		return nil, nil, err.Error()
	}
	entries, err := checksum.Parse(sumPath, data)
	if err != nil {
		return nil, nil, err.Error()
	}
	for _, e := range entries {
		if !filepath.IsLocal(filepath.FromSlash(e.Name)) {
			return nil, nil, fmt.Sprintf("%s lists %q, which is not inside the folder", checksum.FileName, e.Name)
		}
		info, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(e.Name)))
		if err != nil {
			return nil, nil, err.Error()
		}
		if !info.Mode().IsRegular() {
			return nil, nil, fmt.Sprintf("%q is not a regular file (%s)", e.Name, info.Mode().Type())
		}
		names = append(names, e.Name)
	}
	return checksum.Format(entries), names, ""
}

// settle decides what becomes of the arrivals of one folder: it is placed
// only when every arrival verified and all have the same content.
func settle(root string, as []arrival) []Folder {
	out := make([]Folder, len(as))
	var refused, differ bool
	for i, a := range as {
		out[i] = Folder{Job: a.job, Rel: a.rel}
		if a.refused != "" {
			out[i].Status, out[i].Why = Refused, a.refused
			refused = true
		}
	}
	for _, a := range as[1:] {
		if a.refused == "" && as[0].refused == "" && !bytes.Equal(a.sum, as[0].sum) {
			differ = true
		}
	}
	var jobs []string
	for _, a := range as {
		jobs = append(jobs, a.job)
	}
	for i := range out {
		switch {
		case out[i].Status == Refused:
		case differ:
			out[i].Status, out[i].Why = Refused, "it arrived from jobs "+strings.Join(jobs, ", ")+" with different content"
		case refused:
			out[i].Status, out[i].Why = Refused, "another arrival of it was refused (jobs "+strings.Join(jobs, ", ")+")"
		case i > 0:
			out[i].Status = Twin
		default:
			out[i].Status, out[i].Why = place(root, as[i])
		}
	}
	return out
}

// place moves a verified folder to root/<rel>: into a hidden temporary
// folder beside it, then renamed into place. A folder already there with
// the same SHA256SUM is left as it is; one with another is not replaced.
func place(root string, a arrival) (Status, string) {
	dest := filepath.Join(root, filepath.FromSlash(a.rel))
	if existing, err := os.ReadFile(filepath.Join(dest, checksum.FileName)); err == nil {
		entries, err := checksum.Parse(dest, existing)
		if err == nil && bytes.Equal(checksum.Format(entries), a.sum) {
			return Present, ""
		}
		return Refused, fmt.Sprintf("%q already holds other content (remove it to replace it)", dest)
	} else if _, statErr := os.Stat(dest); statErr == nil {
		return Refused, fmt.Sprintf("%q already exists without %s (remove it to replace it)", dest, checksum.FileName)
	}
	tmp := filepath.Join(filepath.Dir(dest), "."+filepath.Base(dest)+".assembling")
	if err := os.RemoveAll(tmp); err != nil {
		return Refused, err.Error()
	}
	// A failure part way puts the files moved so far back where they
	// arrived, so that the folder still verifies and a re-run places it.
	var moved []string
	undo := func() {
		for _, name := range moved {
			moveFile(filepath.Join(tmp, filepath.FromSlash(name)), filepath.Join(a.dir, filepath.FromSlash(name)))
		}
		os.RemoveAll(tmp)
	}
	for _, name := range a.names {
		if err := moveFile(filepath.Join(a.dir, filepath.FromSlash(name)), filepath.Join(tmp, filepath.FromSlash(name))); err != nil {
			undo()
			return Refused, fmt.Sprintf("moving %q: %v", name, err)
		}
		moved = append(moved, name)
	}
	if _, err := os.Stat(filepath.Join(a.dir, checksum.SignatureFile)); err == nil {
		if err := moveFile(filepath.Join(a.dir, checksum.SignatureFile), filepath.Join(tmp, checksum.SignatureFile)); err != nil {
			undo()
			return Refused, fmt.Sprintf("moving %q: %v", checksum.SignatureFile, err)
		}
		moved = append(moved, checksum.SignatureFile)
	}
	// SHA256SUM is written again after the files moved, with the content
	// just verified, so that it is newer than each of them: a current
	// SHA256SUM (checksum.ReadFolder) that the catalog and uploads trust
	// without hashing the files again. Its bytes are those that arrived,
	// which its signature covers.
	sumPath := filepath.Join(tmp, checksum.FileName)
	if err := atomicfile.WriteFile(sumPath, a.raw, 0o644); err != nil {
		undo()
		return Refused, err.Error()
	}
	now := time.Now()
	if err := os.Chtimes(sumPath, now, now); err != nil {
		undo()
		return Refused, err.Error()
	}
	if err := rename(tmp, dest); err != nil {
		undo()
		return Refused, err.Error()
	}
	return Placed, ""
}

// rename is os.Rename; tests make it fail.
var rename = os.Rename

// moveFile renames src to dst, copying when they are on different file
// systems.
func moveFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := rename(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
