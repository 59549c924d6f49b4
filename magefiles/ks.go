//go:build mage

package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/magefile/mage/mg"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/kickstart"
	"gold-standard-images/internal/kickstart/kscontainer"
	"gold-standard-images/internal/tree"
)

// Ks renders and serves the kickstart files (http/builds, http/templates).
type Ks mg.Namespace

// Render prints the kickstart of one build for one OS definition to stdout.
//
// Example: mage ks:render virtual/aws CentOS-7.9.2009
//
// Only the kickstart goes to stdout. The metal boot-line comment points at
// the site's ks_server (its ks.php, which the original's PHP server and
// ks:up answer), else http://127.0.0.1:8080/ks. Reads templates/site.json,
// VERSION and keys/packer.pub (run `mage keys` first).
func (Ks) Render(build, vmName string) error {
	k, _, err := kickstart.LoadAll(repoRoot(), os.Getenv, kickstart.Options{})
	if err != nil {
		return err
	}
	base := "http://127.0.0.1:8080"
	if site, _, err := config.LoadSite(repoRoot(), os.Getenv); err == nil && site.KSServer != "" {
		base = strings.TrimRight(site.KSServer, "/") + "/ks.php"
	}
	return k.Render(os.Stdout, build, vmName, base)
}

// Serve runs the kickstart server in the foreground until Ctrl-C, logging one line per request.
//
// Environment: KS_ADDR is the address to listen on (default 127.0.0.1:8080;
// 0.0.0.0:8080 to serve other machines); VERSION overrides the site's
// version.
func (Ks) Serve(ctx context.Context) error {
	k, _, err := kickstart.LoadAll(repoRoot(), os.Getenv, kickstart.Options{})
	if err != nil {
		return err
	}
	sayProblems(k)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	return kickstart.Serve(ctx, envvar.KSAddr.Or(os.Getenv, "127.0.0.1:8080"), k.Handler(), os.Stderr, func(a string) {
		say("ks: serving %d builds for %v on http://%s/ks (Ctrl-C stops)", len(k.Builds()), k.OSNames(), a)
	})
}

// Up builds the kickstart server image and runs it as a long-lived container for bare-metal installs.
//
// Running it again replaces the container, which is named for this checkout
// (gsi-ks-<hash of its path>), so checkouts on one host do not clash.
// Environment: KS_PORT is the host port (default 8080); CONTAINER_ENGINE is
// docker or podman (default: docker if its daemon answers, else podman);
// CONTAINER_ENGINE_FLAGS are global engine flags and CONTAINER_RUN_FLAGS
// flags of `run`: podman gets --runtime runc where its default runtime does
// not run, and --ulimit nofile/nproc of 1024 (podman's defaults exceed a
// restricted host's limits), unless these say otherwise; VERSION overrides
// the site's version.
func (Ks) Up(ctx context.Context) error {
	root := repoRoot()
	port, err := envvar.KSPort.Or(os.Getenv, 8080)
	if err != nil {
		return err
	}
	eng, err := engine(ctx, root)
	if err != nil {
		return err
	}
	k, targets, err := kickstart.LoadAll(root, os.Getenv, kickstart.Options{})
	if err != nil {
		return err
	}
	sayProblems(k)
	bin, tar := filepath.Join(root, tree.KSServerBinary), filepath.Join(root, tree.KSImageTarball)
	if err := kscontainer.BuildServer(ctx, root, bin); err != nil {
		return err
	}
	img, err := kscontainer.Image(bin, root, targets)
	if err != nil {
		return err
	}
	if err := kscontainer.WriteTarball(img, tar); err != nil {
		return err
	}
	if err := eng.Up(ctx, tar, port); err != nil {
		return err
	}
	say("ks: container %s (%s) serves http://<this host>:%d/ks?build=metal/<host>&os=<vm_name>", eng.Container, eng.Name, port)
	return nil
}

// Down stops and removes the kickstart server container; with none running it does nothing.
//
// Environment: CONTAINER_ENGINE and CONTAINER_ENGINE_FLAGS as for ks:up.
func (Ks) Down(ctx context.Context) error {
	eng, err := engine(ctx, repoRoot())
	if err != nil {
		return err
	}
	return eng.Down(ctx)
}

// engine is the container engine of ks:up and ks:down, saying what it chose.
func engine(ctx context.Context, root string) (kscontainer.Engine, error) {
	eng, err := kscontainer.EngineFromEnv(ctx, os.Getenv, root)
	for _, n := range eng.Notes {
		say("ks: %s", n)
	}
	return eng, err
}

// sayProblems names each OS definition that does not load and is left out
// of what is served; the others are served.
func sayProblems(k *kickstart.Kickstarts) {
	for _, err := range k.Problems() {
		say("ks: left out: %v", err)
	}
}
