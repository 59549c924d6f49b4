// Package devcheck is the project's own test run: install the host tools the
// tests use, then check formatting, vet and run every test, as CI does.
package devcheck

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/run"
)

// Run installs the test tools (scripts/host/install-test-tools.sh), finds or
// builds the pinned Packer (given to the tests as $PACKER), then runs gofmt,
// go vet (with and without the mage tag), go mod tidy -diff and go test in
// root. getenv reads TEST_PKGS, TEST_RUN and what packer.Find reads. Output
// goes to stdout so CI sees go test's summary lines.
func Run(ctx context.Context, root string, getenv func(string) string) error {
	var env []string
	step := func(bound time.Duration, name string, args ...string) error {
		fmt.Fprintf(os.Stderr, ">> test: %s %s\n", name, strings.Join(args, " "))
		return run.Run(ctx, run.Cmd{Name: name, Args: args, Dir: root, Env: env, Output: os.Stdout, Timeout: bound,
			Hint: "a download that stalled (apt, npm, the Go module proxy) or a tool that hangs"})
	}
	// No bound here: a bound runs the command in a process group of its own,
	// and sudo, asking for a password on the terminal from there, would be
	// stopped (SIGTTIN) instead of asking. apt and npm give up on their own.
	if err := step(0, "bash", "scripts/host/install-test-tools.sh"); err != nil {
		return err
	}
	if err := step(15*time.Minute, "go", "mod", "download"); err != nil {
		return err
	}
	// The tests run the real Packer: the pinned one, built once if needed.
	bin, version, err := packer.Find(ctx, root, getenv, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, ">> test: packer v%s (%s)\n", version, bin)
	env = append(env, "PACKER="+bin)
	unformatted, err := run.Output(ctx, run.Cmd{Name: "gofmt", Args: []string{"-l", "."}, Dir: root, Output: os.Stderr, Timeout: 5 * time.Minute})
	if err != nil {
		return err
	}
	if files := strings.TrimSpace(string(unformatted)); files != "" {
		return fmt.Errorf("gofmt would change these files (run gofmt -w):\n%s", files)
	}
	if err := step(20*time.Minute, "go", "vet", "./..."); err != nil {
		return err
	}
	if err := step(10*time.Minute, "go", "vet", "-tags", "mage", "./magefiles/"); err != nil {
		return err
	}
	if err := step(15*time.Minute, "go", "mod", "tidy", "-diff"); err != nil {
		return fmt.Errorf("go.mod or go.sum is not tidy (run go mod tidy): %w", err)
	}
	pkgs := envvar.TestPkgs.Get(getenv)
	if len(pkgs) == 0 {
		if pkgs, err = allPackages(ctx, root); err != nil {
			return err
		}
	}
	return goTest(ctx, root, filepath.Join(root, ReportDir), env, pkgs, envvar.TestRun.Get(getenv), os.Stdout, os.Stderr)
}

// goTest runs go test in root through gotestsum (a tool of go.mod): a
// line per package as it ends, with its time, to out; the still-running
// packages every minute, to log; junit.xml and go-test.json in reports;
// the ten slowest packages at the end, pass or fail, to log.
func goTest(ctx context.Context, root, reports string, env, pkgs []string, runPattern string, out, log io.Writer) error {
	if err := os.MkdirAll(reports, 0o755); err != nil {
		return err
	}
	jsonFile := filepath.Join(reports, "go-test.json")
	args := []string{"tool", "gotestsum", "--format", "pkgname-and-test-fails", "--format-hide-empty-pkg",
		"--junitfile", filepath.Join(reports, "junit.xml"), "--jsonfile", jsonFile,
		"--", "-timeout", "60m", "-count=1"}
	if runPattern != "" {
		args = append(args, "-run", runPattern)
	}
	shown := strings.Join(pkgs, " ")
	if len(pkgs) > len(longFirst) {
		shown = fmt.Sprintf("<the %d packages of ./..., these first: %s>", len(pkgs), strings.Join(pkgs[:len(longFirst)], " "))
	}
	fmt.Fprintf(log, ">> test: go %s %s (reports in %s)\n", strings.Join(args, " "), shown, reports)
	stop := make(chan struct{})
	go heartbeat(jsonFile, time.Minute, log, stop)
	// Reap: a test binary that go test's timeout kills cannot stop the tools
	// its tests started (guestfish, qemu); their process group goes with it.
	// go test's -timeout bounds each package's test binary (60 minutes: the
	// end-to-end test takes about 40 on 2 cores under TCG with the others
	// running beside it); the whole run (every package, and building them)
	// gets 90.
	err := run.Run(ctx, run.Cmd{Name: "go", Args: append(args, pkgs...), Dir: root, Env: env, Output: out, Reap: true,
		Timeout: 90 * time.Minute, Hint: "a test that hangs past go test's own -timeout"})
	close(stop)
	p := newPackages()
	if rerr := p.readJSON(jsonFile); rerr == nil {
		p.slowest(log, 10)
	}
	return err
}
