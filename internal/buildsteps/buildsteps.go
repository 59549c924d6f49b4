// Package buildsteps connects the build pipeline to the packages that do
// each of its steps (Packer binary, ISO, kickstart server, conversions,
// checksums, catalog, inspection): the build targets and the e2e test run the same
// wiring.
package buildsteps

import (
	"context"
	"io"
	"path/filepath"

	"gold-standard-images/internal/catalog"
	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/convert"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/inspect"
	"gold-standard-images/internal/iso"
	"gold-standard-images/internal/kickstart"
	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/pipeline"
	"gold-standard-images/internal/provenance"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/release"
	"gold-standard-images/internal/sign"
	"gold-standard-images/internal/tree"
)

// Deps returns the steps of cfg's build. getenv reads PACKER, PACKER_CACHE,
// CATALOG_BASE_URL, DEBUG_BOXES, the signing keys (internal/sign: loaded
// here, so that a bad key stops the build before it starts) and what the
// conversions read; log receives their
// progress lines, toolOutput the output of the tools they run.
func Deps(cfg *config.Config, getenv func(string) string, log, toolOutput io.Writer) (pipeline.Deps, error) {
	sent := &kickstart.Sent{} // the kickstarts served, for the build records
	debugBoxes, err := envvar.DebugBoxes.Or(getenv, false)
	if err != nil {
		return pipeline.Deps{}, err
	}
	keys, err := sign.SettingsFromEnv(cfg.Site, getenv).Load(cfg.Root) // before hours of building
	if err != nil {
		return pipeline.Deps{}, err
	}
	d := pipeline.Deps{
		PackerPath: func(ctx context.Context) (string, string, error) {
			return packer.Find(ctx, cfg.Root, getenv, log)
		},
		FetchISO: iso.FetchFunc(cfg, iso.Options{Out: log, Getenv: getenv}),
		StartKickstart: func(ctx context.Context, selected []providers.Provider) (int, func(), error) {
			return kickstart.StartForBuild(ctx, cfg, selected, sent)
		},
		GuestKickstartURL: kickstart.GuestBaseURL,
		Bootstrap:         bootstrapDisk(cfg, getenv, log),
		Convert: func(ctx context.Context, selected []providers.Provider) ([]tree.Artifact, error) {
			return convert.Run(ctx, cfg, selected, convert.Options{Log: log, ToolOutput: toolOutput, Getenv: getenv})
		},
		Record: func(ctx context.Context, facts pipeline.Facts, arts []tree.Artifact) ([]tree.Artifact, error) {
			return record(ctx, cfg, recordEnv{getenv: getenv, log: log, toolOutput: toolOutput, sent: sent}, facts, arts)
		},
		Checksum: func(ctx context.Context, arts []tree.Artifact) error {
			dirs := release.Folders(underRoot(cfg.Root, arts))
			if err := release.WriteProvenance(ctx, dirs, keys, provenance.BuilderID(cfg.Root), log); err != nil {
				return err
			}
			if _, err := checksum.WriteArtifacts(ctx, underRoot(cfg.Root, arts), log); err != nil {
				return err
			}
			return release.SignChecksums(dirs, keys, log)
		},
		Catalog: func(ctx context.Context, artifactsDir string) error {
			_, err := catalog.Write(ctx, artifactsDir, catalog.Options{Namespace: cfg.Site.Namespace, BaseURL: envvar.CatalogBaseURL.Get(getenv)})
			return err
		},
		Inspect: func(ctx context.Context, selected []providers.Provider) error {
			_, err := inspect.Run(ctx, cfg, selected, inspect.Options{Out: log, ToolOutput: toolOutput, Getenv: getenv})
			return err
		},
	}
	if debugBoxes {
		d.DebugBoxes = func(ctx context.Context, selected []providers.Provider) ([]tree.Artifact, error) {
			return convert.Run(ctx, cfg, selected, convert.Options{Log: log, ToolOutput: toolOutput, Getenv: getenv, DebugBoxes: true})
		}
	}
	return d, nil
}

// underRoot returns arts with their paths (relative to root, as convert
// gives them) joined to root, so checksums do not depend on the working
// folder.
func underRoot(root string, arts []tree.Artifact) []tree.Artifact {
	out := make([]tree.Artifact, len(arts))
	for i, a := range arts {
		if !filepath.IsAbs(a.Path) {
			a.Path = filepath.Join(root, a.Path)
		}
		out[i] = a
	}
	return out
}
