package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/providers"
)

// This file is the part of a build that differs for a family without an
// installer (config.Bootstrap): instead of the ISO, the kickstart server and
// Packer, Deps.Bootstrap makes each provider's disk where Packer would have
// left it; the steps after it are the same for every family.

// bootstrapStep makes the disks of the selected providers that are not up
// to date, one after another (each bootstrap keeps both cores busy).
type bootstrapStep struct{ b *build }

func (s bootstrapStep) String() string {
	return fmt.Sprintf("bootstrap (%s)", strings.Join(providers.Names(s.b.selected), ", "))
}

func (s bootstrapStep) Skip() (bool, string) {
	return s.b.allUpToDate(), "every build is up to date"
}

// Run records each provider's outcome in its Result, as a Packer group
// does: a failed disk does not stop the others; only cancellation makes Run
// fail.
func (s bootstrapStep) Run(ctx context.Context) error {
	b := s.b
	for _, p := range b.selected {
		r := b.result(p)
		if r.Status == UpToDate {
			continue
		}
		if err := ctx.Err(); err != nil {
			r.Status, r.Err = Cancelled, err
			continue
		}
		fmt.Fprintf(b.opts.Out, "   %s: making its disk, log %s\n", p.Name, r.Log)
		start := time.Now()
		err := b.bootstrapDisk(ctx, p)
		r.settle(ctx, time.Since(start), err)
		b.sayOutcome(r)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("building %s: cancelled during %s: %w", b.cfg.OS.VMName, s, err)
	}
	return nil
}

// bootstrapDisk makes p's disk through Deps.Bootstrap into a fresh output
// folder, as packerBuild does: the previous output and stamp go first, a
// failure removes what it left, and the stamp is written only on success.
func (b *build) bootstrapDisk(ctx context.Context, p providers.Provider) error {
	root, t := b.cfg.Root, b.cfg.Tree()
	outDir, stamp, err := b.clearOutput(p)
	if err != nil {
		return err
	}
	for _, dir := range []string{outDir, filepath.Dir(filepath.Join(root, t.Log(p.Name)))} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %q for %s: %w", dir, p.Name, err)
		}
	}
	disk := filepath.Join(outDir, t.BaseName(p.Name)+"."+p.Input)
	if err := b.deps.Bootstrap(ctx, p, disk, t.Log(p.Name)); err != nil {
		if rmErr := os.RemoveAll(outDir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("removing the partial output of %s: %w", p.Name, rmErr))
		}
		return err
	}
	if _, err := os.Stat(disk); err != nil {
		return fmt.Errorf("making the disk of %s: the bootstrap left no %q: %w", p.Name, t.PackerOutput(p.Name)+"/"+filepath.Base(disk), err)
	}
	if err := writeStamp(root, t.PackerOutput(p.Name), stamp, b.fingerprints[p.Name]); err != nil {
		return fmt.Errorf("recording the build of %s: %w", p.Name, err)
	}
	return nil
}

// familySelection keeps the providers of selected that cfg's family builds
// (its row's Builds) and says which it left out. ONLY may name providers
// for several OS definitions at once (a CI variable), so one the family
// does not build is left out too; only a selection left empty is an error.
func familySelection(cfg *config.Config, selected []providers.Provider) ([]providers.Provider, []string, error) {
	f, _ := config.FamilyNamed(cfg.OS.Family)
	if f.Builds == nil {
		return selected, nil, nil
	}
	var kept []providers.Provider
	var left []string
	for _, p := range selected {
		if f.Builds(p) {
			kept = append(kept, p)
		} else {
			left = append(left, p.Name)
		}
	}
	switch {
	case len(kept) == 0:
		return nil, nil, fmt.Errorf("selecting providers: %s (family %q) does not build %s yet: nothing to build", cfg.OS.VMName, f.Name, strings.Join(left, ", "))
	case len(left) > 0:
		return kept, []string{fmt.Sprintf("%s (family %q) does not build %s yet: left out", cfg.OS.VMName, f.Name, strings.Join(left, ", "))}, nil
	}
	return kept, nil, nil
}
