package buildsteps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"time"

	"gold-standard-images/internal/buildrecord"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/kickstart"
	"gold-standard-images/internal/pipeline"
	"gold-standard-images/internal/sbom"
	"gold-standard-images/internal/tree"
)

type recordEnv struct {
	getenv     func(string) string
	log        io.Writer
	toolOutput io.Writer
	sent       *kickstart.Sent
}

// record writes, in each provider folder of arts, the SBOM of the
// provider's Packer disk and then manifest.json (which lists the SBOM
// among the artifacts); SHA256SUM, written next, covers both. A provider
// that fails does not stop the others; the error names each.
func record(ctx context.Context, cfg *config.Config, env recordEnv, facts pipeline.Facts, arts []tree.Artifact) ([]tree.Artifact, error) {
	var made []tree.Artifact
	var problems []error
	// The preflight asks for guestfish only where a conversion needs it;
	// without it the SBOMs are left out, said, and the build goes on.
	_, noGuestfish := exec.LookPath("guestfish")
	seen := map[string]bool{}
	tool := ""
	if cfg.OS.Installer() == config.Bootstrap {
		tool = bootstrapTool(ctx)
	}
	b := cfg.Tree()
	for _, a := range arts {
		p := a.Provider
		if seen[p] || a.Kind == tree.Checksum {
			continue
		}
		seen[p] = true
		dir := b.ArtifactDir(p)
		disk, err := sbom.FindDisk(filepath.Join(cfg.Root, b.PackerOutput(p)))
		switch {
		case noGuestfish != nil:
			err = nil
			fmt.Fprintf(env.log, "   %s: no %s: guestfish not found (apt-get install libguestfs-tools)\n", p, sbom.FileName)
		case err == nil:
			var wrote bool
			wrote, err = sbom.WriteForDisk(ctx, disk, filepath.Join(cfg.Root, dir, sbom.FileName),
				sbom.Subject{VMName: cfg.OS.VMName, Version: cfg.Site.Version, Provider: p},
				sbom.Options{Getenv: env.getenv, Output: env.toolOutput, Log: b.ConvertLog(p)})
			if err == nil {
				fmt.Fprintf(env.log, "   %s: %s %s\n", p, sbom.FileName, map[bool]string{true: "written", false: "up to date"}[wrote])
				made = append(made, tree.Artifact{Provider: p, Kind: tree.Record, Path: filepath.Join(dir, sbom.FileName)})
			}
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", p, err))
			continue
		}
		in := buildrecord.Inputs{
			Config: cfg, Provider: p, PackerVersion: facts.PackerVersion,
			ISOCache:        tree.ISOCache(cfg.Root, env.getenv),
			KickstartSHA256: env.sent.SHA256("virtual/" + p),
			BootstrapTool:   tool,
			Started:         facts.Started, Finished: time.Now(),
		}
		_, wrote, err := buildrecord.Write(ctx, in, filepath.Join(cfg.Root, dir))
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", p, err))
			continue
		}
		fmt.Fprintf(env.log, "   %s: %s %s\n", p, buildrecord.FileName, map[bool]string{true: "written", false: "unchanged apart from times, kept"}[wrote])
		made = append(made, tree.Artifact{Provider: p, Kind: tree.Record, Path: filepath.Join(dir, buildrecord.FileName)})
	}
	if len(problems) > 0 {
		return made, fmt.Errorf("writing the build records of %s: %w", cfg.OS.VMName, errors.Join(problems...))
	}
	return made, nil
}
