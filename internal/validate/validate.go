// Package validate checks everything a build reads before any build starts:
// the Packer templates for every OS definition and provider, the Ansible
// playbooks (syntax check and lint), the shell scripts (shellcheck) and the
// kickstarts of every build and OS definition (kickstart.RenderAll). Every
// check runs; all failures are reported together.
package validate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/kickstart"
	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sshkeys"
)

// Options says what Run checks and with which tools.
type Options struct {
	Root   string              // repository root
	Packer string              // Packer binary (packer.Find)
	Getenv func(string) string // environment (VERSION), usually os.Getenv
	Log    io.Writer           // the tools' full output; nil discards it
	// Say receives one short line per check ("packer CentOS-7.9.2009: ok");
	// nil is silent.
	Say func(format string, args ...any)
}

// ksPort is the kickstart port given to `packer validate`; builds pass the
// port their kickstart server really listens on.
const ksPort = 8080

// Run runs every check and returns the failures joined, each naming its
// check; nil means everything is valid.
func Run(ctx context.Context, o Options) error {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Say == nil {
		o.Say = func(string, ...any) {}
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	var errs []error
	check := func(name string, err error) {
		if err != nil {
			o.Say("%s: FAILED", name)
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		o.Say("%s: ok", name)
	}
	if err := Templates(ctx, o, check); err != nil {
		errs = append(errs, err)
	}
	check("ansible syntax check", AnsibleSyntax(ctx, o.Root, o.Log))
	check("ansible-lint", AnsibleLint(ctx, o.Root, o.Log))
	check("shellcheck", Shellcheck(ctx, o.Root, o.Log))
	check("kickstart render", kickstart.RenderAll(ctx, o.Root, o.Getenv))
	return errors.Join(errs...)
}

// Templates runs `packer validate` over templates/packer for every OS
// definition (all providers at once), reporting each through check. Packer
// gets the variables the way builds pass them, in a var-file
// (packer.Validate). The ISO is an empty placeholder (Packer's validate
// never reads it; the template only checks that it exists), the output root
// is a throwaway folder (a build's Packer output may be there), and when
// keys/ has no key pairs yet throwaway ones stand in. Definitions are
// validated as many at once as there are cores, and reported in order. It
// returns an error only when it cannot start.
func Templates(ctx context.Context, o Options, check func(name string, err error)) error {
	if o.Log == nil {
		o.Log = io.Discard
	}
	names, err := config.Available(o.Root)
	if err != nil {
		return fmt.Errorf("packer templates: %w", err)
	}
	tmp, err := os.MkdirTemp("", "validate-")
	if err != nil {
		return fmt.Errorf("packer templates: %w", err)
	}
	defer os.RemoveAll(tmp)
	iso := filepath.Join(tmp, "placeholder.iso")
	if err := os.WriteFile(iso, nil, 0o644); err != nil {
		return fmt.Errorf("packer templates: %w", err)
	}
	empty := sha256.Sum256(nil)
	placeholderSum := "sha256:" + hex.EncodeToString(empty[:])

	keyDir := filepath.Join(o.Root, "keys")
	if !exists(filepath.Join(o.Root, packer.PackerKey)) || !exists(filepath.Join(o.Root, packer.VagrantPublicKey)) {
		keyDir = filepath.Join(tmp, "keys")
		if _, err := sshkeys.Ensure(keyDir, "packer", "vagrant"); err != nil {
			return fmt.Errorf("packer templates: making throwaway keys: %w", err)
		}
		o.Say("packer: keys/ has no key pairs yet (mage keys makes them); validating with throwaway ones")
	}

	// One `packer validate` per OS definition, as many at once as there are
	// cores (each starts a Packer process per plugin and waits on them),
	// reported in the order of the definitions.
	results := make([]error, len(names))
	logs := make([]bytes.Buffer, len(names))
	noPacker := make([]bool, len(names)) // a family without an installer has no Packer build
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i, vm := range names {
		cfg, err := config.Load(o.Root, vm, o.Getenv, config.Options{AllowMissingISO: true})
		if err != nil {
			results[i] = err
			continue
		}
		if cfg.OS.Installer() == config.Bootstrap {
			noPacker[i] = true
			continue
		}
		v := packer.ForConfig(cfg, iso, ksPort)
		if cfg.OS.ISOChecksum == "" { // a site-supplied ISO the site has not configured yet
			v.ISOChecksum = placeholderSum
		}
		v.SSHPrivateKeyFile = filepath.Join(keyDir, "packer")
		v.VagrantPublicKeyFile = filepath.Join(keyDir, "vagrant.pub")
		v.OutputRoot = filepath.Join(tmp, "packer-output", vm)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = packer.Validate(ctx, o.Packer, o.Root, v, nil, &logs[i])
		}()
	}
	wg.Wait()
	for i, vm := range names {
		if noPacker[i] {
			continue
		}
		o.Log.Write(logs[i].Bytes())
		check("packer "+vm, results[i])
	}
	return nil
}

// AnsibleSyntax runs `ansible-playbook --syntax-check` on ansible/site.yml.
func AnsibleSyntax(ctx context.Context, root string, log io.Writer) error {
	return tool(ctx, root, log, "ansible-playbook", "--syntax-check", "-i", "localhost,", "ansible/site.yml")
}

// AnsibleLint runs `ansible-lint` over ansible/ (offline: no Galaxy
// installs, no schema downloads).
func AnsibleLint(ctx context.Context, root string, log io.Writer) error {
	return tool(ctx, root, log, "ansible-lint", "--offline", "--nocolor", "ansible/")
}

// ScriptsDir holds the shell scripts Shellcheck checks: the guest scripts
// Packer runs (cleanup.sh, zero.sh) and, below it, the host scripts.
const ScriptsDir = "scripts"

// Shellcheck runs shellcheck on every *.sh file below scripts/. Finding no
// script at all is an error: the Packer templates need the guest scripts.
func Shellcheck(ctx context.Context, root string, log io.Writer) error {
	var scripts []string
	err := filepath.WalkDir(filepath.Join(root, ScriptsDir), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".sh") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			scripts = append(scripts, rel)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("listing the shell scripts: %w", err)
	}
	if len(scripts) == 0 {
		return fmt.Errorf("no *.sh files below %q", filepath.Join(root, ScriptsDir))
	}
	err = run.Run(ctx, run.Cmd{Name: "shellcheck", Args: append([]string{"--format=gcc"}, scripts...), Dir: root, Output: log, Timeout: toolTimeout})
	if run.IsNotFound(err) {
		return fmt.Errorf("shellcheck is not installed (Debian: apt-get install -y shellcheck): %w", err)
	}
	return err // run.Error names the command and holds shellcheck's findings
}

// toolTimeout bounds each checker (shellcheck, ansible-playbook
// --syntax-check, ansible-lint) on the repository's few files.
const toolTimeout = 10 * time.Minute

func tool(ctx context.Context, root string, log io.Writer, name string, args ...string) error {
	err := run.Run(ctx, run.Cmd{Name: name, Args: args, Dir: root, Env: []string{"ANSIBLE_NOCOLOR=1", "NO_COLOR=1"}, Output: log, Timeout: toolTimeout})
	if run.IsNotFound(err) {
		return fmt.Errorf("%s is not installed (Debian: apt-get install -y ansible ansible-lint): %w", name, err)
	}
	return err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
