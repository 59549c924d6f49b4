package buildsteps

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gold-standard-images/internal/buildrecord"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/debian"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/tree"
)

// bootstrapDisk is the Bootstrap of the debian12 family: the disk of p
// made by internal/debian from the definition's suite and the site's
// archives, disk size, time zone and NTP servers.
func bootstrapDisk(cfg *config.Config, getenv func(string) string, log io.Writer) func(ctx context.Context, p providers.Provider, disk, logRel string) error {
	var once sync.Once
	var env []string
	var accelErr error
	force, forceErr := envvar.Force.Or(getenv, false) // the pipeline has checked it
	return func(ctx context.Context, p providers.Provider, disk, logRel string) error {
		once.Do(func() { // KVM is probed once for every disk
			accel, err := kvm.Choose(ctx, getenv, "")
			env, accelErr = accel.GuestfishEnv(getenv), err
		})
		if err := errors.Join(accelErr, forceErr); err != nil {
			return err
		}
		s := debian.Spec{
			Root:           cfg.Root,
			Suite:          cfg.OS.Suite,
			Mirror:         cfg.Site.DebianMirror,
			SecurityMirror: cfg.Site.DebianSecurityMirror,
			VMName:         cfg.OS.VMName,
			Version:        cfg.Site.Version,
			DiskSizeMiB:    cfg.Site.DiskSize,
			Timezone:       cfg.Site.Timezone,
			NTPServers:     cfg.Site.NTPServers,
			CacheDir:       filepath.Join(cfg.Root, tree.DebianCache),
			Log:            filepath.Join(cfg.Root, logRel),
			GuestfishEnv:   env,
			Force:          force,
		}
		return debian.MakeDisk(ctx, s, p.Name, disk, log)
	}
}

// bootstrapTool is what the record names as the bootstrap's tool:
// "mmdebstrap <version>", or Unknown when it does not say.
func bootstrapTool(ctx context.Context) string {
	out, err := run.Output(ctx, run.Cmd{Name: "mmdebstrap", Args: []string{"--version"}, Timeout: time.Minute})
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return buildrecord.Unknown
}
