package kscontainer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/run"
)

// Engine is the local container engine and the extra flags it needs.
type Engine struct {
	Name        string   // "docker" or "podman" (or a path to either)
	GlobalFlags []string // before the subcommand, e.g. podman's --runtime runc
	RunFlags    []string // after "run", e.g. --ulimit nofile=1024:1024
	Container   string   // the container's name (ContainerNameFor the checkout)
	// Notes say what EngineFromEnv found and chose (a docker without its
	// daemon, flags podman needs here), for the target to print.
	Notes []string
}

// ContainerNameFor is the name of the kickstart container of the checkout
// at root: gsi-ks-<8 hex of the sha256 of its absolute path>, so two
// checkouts on one host each have their own.
func ContainerNameFor(root string) string {
	abs, err := filepath.Abs(root)
	if err != nil {
		abs = root
	}
	sum := sha256.Sum256([]byte(abs))
	return "gsi-ks-" + hex.EncodeToString(sum[:4])
}

// EngineFromEnv chooses the engine of the checkout at root and the flags it
// needs on this host: CONTAINER_ENGINE, else docker when its daemon
// answers, else podman. CONTAINER_ENGINE_FLAGS (global flags) and
// CONTAINER_RUN_FLAGS (flags of "run") are split on spaces, never by a
// shell. Podman gets --runtime runc when its default runtime does not run
// and runc is installed, and --ulimit nofile/nproc of 1024 (podman's
// defaults exceed a restricted host's limits, and the container then fails
// to start), unless the flags already say.
func EngineFromEnv(ctx context.Context, getenv func(string) string, root string) (Engine, error) {
	e := Engine{Name: envvar.ContainerEngine.Get(getenv), GlobalFlags: envvar.ContainerEngineFlags.Get(getenv), RunFlags: envvar.ContainerRunFlags.Get(getenv), Container: ContainerNameFor(root)}
	if e.Name != "" {
		if _, err := exec.LookPath(e.Name); err != nil {
			return e, fmt.Errorf("CONTAINER_ENGINE=%q: %w", e.Name, err)
		}
		return e, e.adapt(ctx, true)
	}
	_, dockerErr := exec.LookPath("docker")
	_, podmanErr := exec.LookPath("podman")
	switch {
	case dockerErr == nil:
		e.Name = "docker"
		err := e.adapt(ctx, podmanErr != nil)
		if err == nil || podmanErr != nil {
			return e, err
		}
		e.Notes = append(e.Notes, fmt.Sprintf("docker is installed but its daemon does not answer (%v): using podman", firstLine(err)))
		e.Name = "podman"
		return e, e.adapt(ctx, true)
	case podmanErr == nil:
		e.Name = "podman"
		return e, e.adapt(ctx, true)
	}
	return e, errors.New("finding a container engine: neither docker nor podman is on PATH (set CONTAINER_ENGINE)")
}

// probeTimeout bounds the engine probes (version, info).
const probeTimeout = time.Minute

// adapt checks that the engine runs here and adds the flags it needs
// (see EngineFromEnv); last says there is no other engine to try.
func (e *Engine) adapt(ctx context.Context, last bool) error {
	if isEngine(e.Name, "docker") {
		if _, err := run.Output(ctx, e.probe("version", "--format", "{{.Server.Version}}")); err != nil {
			return fmt.Errorf("checking that %s's daemon answers: %w", e.Name, err)
		}
		return nil
	}
	if !isEngine(e.Name, "podman") {
		return nil // another engine: taken as it is
	}
	if _, err := run.Output(ctx, e.probe("info", "--format", "{{.Host.OCIRuntime.Name}}")); err != nil {
		_, runc := exec.LookPath("runc")
		if slices.Contains(e.GlobalFlags, "--runtime") || runc != nil {
			return fmt.Errorf("checking that %s runs: %w", e.Name, err)
		}
		e.GlobalFlags = append(e.GlobalFlags, "--runtime", "runc")
		if _, err2 := run.Output(ctx, e.probe("info", "--format", "{{.Host.OCIRuntime.Name}}")); err2 != nil {
			return fmt.Errorf("checking that %s runs (also with --runtime runc): %w", e.Name, err)
		}
		e.Notes = append(e.Notes, fmt.Sprintf("%s's default runtime does not run here (%s): using --runtime runc", e.Name, firstLine(err)))
	}
	if !slices.ContainsFunc(e.RunFlags, func(f string) bool { return strings.HasPrefix(f, "--ulimit") }) {
		for _, l := range []struct {
			name     string
			resource int
		}{{"nofile", syscall.RLIMIT_NOFILE}, {"nproc", rlimitNproc}} {
			n := uint64(serverLimit)
			var r syscall.Rlimit
			if syscall.Getrlimit(l.resource, &r) == nil && r.Max < n {
				n = r.Max
			}
			e.RunFlags = append(e.RunFlags, "--ulimit", fmt.Sprintf("%s=%d:%d", l.name, n, n))
		}
	}
	return nil
}

// rlimitNproc is RLIMIT_NPROC (Linux), which package syscall does not name.
const rlimitNproc = 6

// serverLimit is the open files and processes the kickstart server gets
// under podman (less where this process's hard limit is lower): plenty for
// it, and below what a restricted host allows, where podman's own defaults
// (1048576 files, and more processes) make the container fail to start.
const serverLimit = 1024

// isEngine reports whether name (a name or path) is the engine base.
func isEngine(name, base string) bool { return filepath.Base(name) == base }

// firstLine shortens err to one line: for a failed command, the last line
// it printed (docker: "Cannot connect to the Docker daemon ...").
func firstLine(err error) string {
	var runErr *run.Error
	if errors.As(err, &runErr) {
		lines := strings.Split(strings.TrimSpace(runErr.Tail), "\n")
		if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
			return last
		}
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}

func (e Engine) probe(args ...string) run.Cmd {
	c := e.cmd(args...)
	c.Timeout = probeTimeout
	return c
}

// engineTimeout bounds each container engine command (load, run, rm, ps)
// on the kickstart server's image of a few MiB.
const engineTimeout = 5 * time.Minute

func (e Engine) cmd(args ...string) run.Cmd {
	return run.Cmd{Name: e.Name, Args: append(append([]string(nil), e.GlobalFlags...), args...),
		Timeout: engineTimeout, Hint: "the container engine stalled (podman: a stale lock or storage; try `" + e.Name + " ps`)"}
}

// Up loads the image tarball and (re)starts the container publishing
// hostPort: running it twice leaves one container, on the new image.
func (e Engine) Up(ctx context.Context, tarball string, hostPort int) error {
	if _, err := run.Output(ctx, e.cmd("load", "-i", tarball)); err != nil {
		return fmt.Errorf("loading the kickstart image into %s: %w", e.Name, err)
	}
	if err := e.Down(ctx); err != nil {
		return err
	}
	args := append([]string{"run", "-d", "--name", e.Container, "--restart", "unless-stopped"}, e.RunFlags...)
	args = append(args, "-p", fmt.Sprintf("%d:8080", hostPort), Ref)
	if _, err := run.Output(ctx, e.cmd(args...)); err != nil {
		return fmt.Errorf("starting the kickstart container %s with %s: %w", e.Container, e.Name, err)
	}
	return nil
}

// Down removes the container; with none there it does nothing.
func (e Engine) Down(ctx context.Context) error {
	running, err := e.Exists(ctx)
	if err != nil || !running {
		return err
	}
	if _, err := run.Output(ctx, e.cmd("rm", "-f", e.Container)); err != nil {
		return fmt.Errorf("removing the kickstart container %s with %s: %w", e.Container, e.Name, err)
	}
	return nil
}

// Exists reports whether the container exists (running or not).
func (e Engine) Exists(ctx context.Context) (bool, error) {
	n, err := e.Count(ctx)
	return n > 0, err
}

// Count returns how many containers named e.Container exist.
func (e Engine) Count(ctx context.Context) (int, error) {
	if e.Container == "" {
		return 0, errors.New("listing containers: the engine has no container name (use EngineFromEnv)")
	}
	out, err := run.Output(ctx, e.cmd("ps", "-a", "--filter", "name=^"+e.Container+"$", "--format", "{{.Names}}"))
	if err != nil {
		return 0, fmt.Errorf("listing containers with %s: %w", e.Name, err)
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) == e.Container {
			n++
		}
	}
	return n, nil
}
