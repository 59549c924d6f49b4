package kscontainer

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/run"
)

// Engine is the local container engine and the extra flags it needs.
type Engine struct {
	Name        string   // "docker" or "podman" (or a path to either)
	GlobalFlags []string // before the subcommand, e.g. podman's --runtime runc
	RunFlags    []string // after "run", e.g. --ulimit nofile=1024:1024
}

// EngineFromEnv chooses the engine: CONTAINER_ENGINE, else docker when it is
// on PATH, else podman. CONTAINER_ENGINE_FLAGS (global flags) and
// CONTAINER_RUN_FLAGS (flags of "run") are split on spaces, never by a shell.
func EngineFromEnv(getenv func(string) string) (Engine, error) {
	e := Engine{Name: envvar.ContainerEngine.Get(getenv), GlobalFlags: envvar.ContainerEngineFlags.Get(getenv), RunFlags: envvar.ContainerRunFlags.Get(getenv)}
	if e.Name != "" {
		if _, err := exec.LookPath(e.Name); err != nil {
			return e, fmt.Errorf("CONTAINER_ENGINE=%q: %w", e.Name, err)
		}
		return e, nil
	}
	for _, n := range []string{"docker", "podman"} {
		if _, err := exec.LookPath(n); err == nil {
			e.Name = n
			return e, nil
		}
	}
	return e, errors.New("finding a container engine: neither docker nor podman is on PATH (set CONTAINER_ENGINE)")
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
	args := append([]string{"run", "-d", "--name", ContainerName, "--restart", "unless-stopped"}, e.RunFlags...)
	args = append(args, "-p", fmt.Sprintf("%d:8080", hostPort), Ref)
	if _, err := run.Output(ctx, e.cmd(args...)); err != nil {
		return fmt.Errorf("starting the kickstart container with %s: %w", e.Name, err)
	}
	return nil
}

// Down removes the container; with none there it does nothing.
func (e Engine) Down(ctx context.Context) error {
	running, err := e.Exists(ctx)
	if err != nil || !running {
		return err
	}
	if _, err := run.Output(ctx, e.cmd("rm", "-f", ContainerName)); err != nil {
		return fmt.Errorf("removing the kickstart container with %s: %w", e.Name, err)
	}
	return nil
}

// Exists reports whether the container exists (running or not).
func (e Engine) Exists(ctx context.Context) (bool, error) {
	out, err := run.Output(ctx, e.cmd("ps", "-a", "--filter", "name=^"+ContainerName+"$", "--format", "{{.Names}}"))
	if err != nil {
		return false, fmt.Errorf("listing containers with %s: %w", e.Name, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) == ContainerName {
			return true, nil
		}
	}
	return false, nil
}

// Count returns how many containers named ContainerName exist.
func (e Engine) Count(ctx context.Context) (int, error) {
	out, err := run.Output(ctx, e.cmd("ps", "-a", "--filter", "name=^"+ContainerName+"$", "--format", "{{.Names}}"))
	if err != nil {
		return 0, err
	}
	return strings.Count(string(out), ContainerName), nil
}
