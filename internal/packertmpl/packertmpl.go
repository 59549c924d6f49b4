// Package packertmpl knows the Packer templates in templates/packer: the
// values of their variables for one OS definition, and the command lines of
// `packer validate` and `packer build` over them.
package packertmpl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/run"
)

// Dir is the folder of the Packer templates, relative to the repository root.
const Dir = "templates/packer"

// Key files below the repository root that the templates read.
const (
	PackerKey        = "keys/packer"      // Packer logs in as root with it
	VagrantPublicKey = "keys/vagrant.pub" // given to Ansible for the vagrant user
)

// Vars are the values of the templates' variables (see
// templates/packer/variables.pkr.hcl). Zero CPUs or Memory leave the
// template's default.
type Vars struct {
	VMName               string `json:"vm_name"`
	Version              string `json:"version"`
	OSVersion            string `json:"os_version"`   // release, e.g. 7.9.2009: Ansible's package tree
	RepoServer           string `json:"repo_server"`  // package server Ansible points yum at; empty keeps the default
	ISOPath              string `json:"iso_path"`     // local, verified ISO
	ISOChecksum          string `json:"iso_checksum"` // "sha256:<hex>"
	KSPort               int    `json:"ks_port"`      // port of the in-process kickstart server; 0 with the site's ks_server
	KSBaseURL            string `json:"ks_base_url"`  // site's ks_server; empty derives it from KSPort
	Headless             bool   `json:"headless"`
	DiskSize             int    `json:"disk_size"`        // MiB
	CPUs                 int    `json:"cpus,omitempty"`   // 0 keeps the template's default
	Memory               int    `json:"memory,omitempty"` // MiB; 0 keeps the template's default
	SSHTimeout           string `json:"ssh_timeout"`
	SSHPrivateKeyFile    string `json:"ssh_private_key_file"`
	VagrantPublicKeyFile string `json:"vagrant_public_key_file"`
	OutputRoot           string `json:"output_root"` // each provider writes into <OutputRoot>/<provider>
	RepoRoot             string `json:"repo_root"`
	Accelerator          string `json:"accelerator"` // QEMU accelerator "kvm" or "tcg"; empty lets Packer choose
}

// ForConfig returns the variables of cfg's builds: the ISO at isoPath, the
// kickstart server on ksPort, keys from <root>/keys and output into
// <root>/.cache/packer-output/<version>/<vm_name>/<provider>.
func ForConfig(cfg *config.Config, isoPath string, ksPort int) Vars {
	return Vars{
		VMName:               cfg.OS.VMName,
		Version:              cfg.Site.Version,
		OSVersion:            cfg.OS.OSVersion,
		RepoServer:           cfg.OS.RepoServer,
		ISOPath:              isoPath,
		ISOChecksum:          "sha256:" + strings.ToLower(cfg.OS.ISOChecksum),
		KSPort:               ksPort,
		KSBaseURL:            cfg.Site.KSServer,
		Headless:             cfg.Site.Headless,
		DiskSize:             cfg.Site.DiskSize,
		SSHTimeout:           cfg.Site.SSHTimeout,
		SSHPrivateKeyFile:    filepath.Join(cfg.Root, PackerKey),
		VagrantPublicKeyFile: filepath.Join(cfg.Root, VagrantPublicKey),
		OutputRoot:           filepath.Join(cfg.Root, cfg.Tree().PackerOutputRoot()),
		RepoRoot:             cfg.Root,
	}
}

// Args returns the variables as `-var name=value` arguments, in a fixed order.
func (v Vars) Args() []string {
	pairs := [][2]string{
		{"vm_name", v.VMName},
		{"version", v.Version},
		{"os_version", v.OSVersion},
		{"repo_server", v.RepoServer},
		{"iso_path", v.ISOPath},
		{"iso_checksum", v.ISOChecksum},
		{"ks_port", strconv.Itoa(v.KSPort)},
		{"ks_base_url", v.KSBaseURL},
		{"headless", strconv.FormatBool(v.Headless)},
		{"disk_size", strconv.Itoa(v.DiskSize)},
		{"ssh_timeout", v.SSHTimeout},
		{"ssh_private_key_file", v.SSHPrivateKeyFile},
		{"vagrant_public_key_file", v.VagrantPublicKeyFile},
		{"output_root", v.OutputRoot},
		{"repo_root", v.RepoRoot},
	}
	if v.Accelerator != "" {
		pairs = append(pairs, [2]string{"accelerator", v.Accelerator})
	}
	if v.CPUs > 0 {
		pairs = append(pairs, [2]string{"cpus", strconv.Itoa(v.CPUs)})
	}
	if v.Memory > 0 {
		pairs = append(pairs, [2]string{"memory", strconv.Itoa(v.Memory)})
	}
	args := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		args = append(args, "-var", p[0]+"="+p[1])
	}
	return args
}

// WriteVarFile writes v as a JSON var-file for `packer -var-file=` at path,
// readable by the owner only, through a temporary name.
func (v Vars) WriteVarFile(path string) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the Packer variables of %q: %w", v.VMName, err)
	}
	return nil
}

// Only is the `-only=` argument selecting ps (their PackerSource names), or
// "" for all builds.
func Only(ps []providers.Provider) string {
	if len(ps) == 0 {
		return ""
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.PackerSource()
	}
	return "-only=" + strings.Join(names, ",")
}

// Command returns the arguments of `packer <sub> [-only=...] [extra...]
// -var ... <root>/templates/packer`. sub is "validate" or "build"; extra
// holds the subcommand's own flags (e.g. "-force", "-color=false").
func Command(sub string, root string, v Vars, ps []providers.Provider, extra ...string) []string {
	args := []string{sub}
	if o := Only(ps); o != "" {
		args = append(args, o)
	}
	args = append(args, extra...)
	args = append(args, v.Args()...)
	return append(args, filepath.Join(root, Dir))
}

// Env is what Packer's environment gets added: no update check.
var Env = []string{"CHECKPOINT_DISABLE=1"}

// Validate runs `packer validate` of the templates below root with v for the
// providers ps (all when empty). Packer's output goes to log; on failure the
// error holds its last lines.
func Validate(ctx context.Context, packer, root string, v Vars, ps []providers.Provider, log io.Writer) error {
	err := run.Run(ctx, run.Cmd{
		Name:   packer,
		Args:   Command("validate", root, v, ps),
		Dir:    root,
		Env:    Env,
		Output: log,
	})
	if err != nil {
		return fmt.Errorf("validating the Packer templates in %s for %q: %w", Dir, v.VMName, err)
	}
	return nil
}
