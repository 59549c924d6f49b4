// Package packer runs Packer: it finds the binary (Find, building the
// pinned release when needed) and knows the templates in templates/packer:
// the values of their variables for one OS definition, written to a
// var-file, and the one command line that `packer build` and `packer
// validate` share over them (Command).
package packer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/run"
)

// TemplatesDir is the folder of the Packer templates, relative to the
// repository root.
const TemplatesDir = "templates/packer"

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
	OSVersion            string `json:"os_version"`     // release, e.g. 7.9.2009: Ansible's package tree
	RepoServer           string `json:"repo_server"`    // package server Ansible points yum at; empty keeps the default
	GCPGuestRepo         string `json:"gcp_guest_repo"` // Google's yum tree (site gcp_guest_repo) for the gcp guest environment
	ISOPath              string `json:"iso_path"`       // local, verified ISO
	ISOChecksum          string `json:"iso_checksum"`   // "sha256:<hex>"
	KSPort               int    `json:"ks_port"`        // port of the kickstart server on this host (in-process, or the site's on the loopback); 0 with a site's elsewhere
	KSBaseURL            string `json:"ks_base_url"`    // site's ks_server elsewhere than this host's loopback; empty derives it from KSPort
	KSPath               string `json:"ks_path"`        // the kickstart's path on the server: /ks, or <path>/ks.php on a site's server
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
	// VirtualBox 7's NAT lets guests reach the host's loopback (the
	// kickstart server); false for VirtualBox 6.1, which lacks the switch.
	VirtualBoxNATLocalhost bool   `json:"virtualbox_nat_localhost"`
	Firmware               string `json:"firmware,omitempty"`             // "bios" or "uefi" (config.Config.Firmware); empty keeps the template's bios
	X8664V3                bool   `json:"x86_64_v3,omitempty"`            // EL 10: the QEMU CPU must be x86-64-v3
	VMwareGuestOSType      string `json:"vmware_guest_os_type,omitempty"` // VMware guest id of the release; empty keeps centos7-64

	// What Ansible gets besides (ansible/group_vars/all.yml gives them the
	// original project's names too: packer_namespace, packer_ks_server,
	// packer_os).
	Namespace    string       `json:"namespace"`     // the site's namespace
	KSServer     string       `json:"ks_server"`     // the site's ks_server as given; empty when the builds serve the kickstarts
	OSDefinition OSDefinition `json:"os_definition"` // the OS definition's original fields
	Guest        config.Guest `json:"guest"`         // the site's guest switches, each an Ansible variable

	// Set only where a build differs from an ISO install (the e2e fixture);
	// empty leaves the template's default.
	DiskImage bool       `json:"disk_image,omitempty"` // iso_path is a bootable disk image the QEMU builds start from
	BootMenu  string     `json:"boot_menu,omitempty"`  // menu the boot_command edits: "isolinux" (default), "grub-install" or "grub"
	QEMUArgs  [][]string `json:"qemu_args,omitempty"`  // extra QEMU arguments (Packer's qemuargs)
}

// OSDefinition is the part of an OS definition the original project's
// playbooks read as packer_os: its seven fields, iso_server the first of
// the definition's servers.
type OSDefinition struct {
	VMName      string `json:"vm_name"`
	OSName      string `json:"os_name"`
	OSVersion   string `json:"os_version"`
	ISO         string `json:"iso"`
	ISOChecksum string `json:"iso_checksum"`
	ISOServer   string `json:"iso_server"`
	RepoServer  string `json:"repo_server"`
}

func osDefinition(o config.OS) OSDefinition {
	d := OSDefinition{VMName: o.VMName, OSName: o.OSName, OSVersion: o.OSVersion, ISO: o.ISO, ISOChecksum: o.ISOChecksum, RepoServer: o.RepoServer}
	if len(o.ISOServer) > 0 {
		d.ISOServer = o.ISOServer[0]
	}
	return d
}

// ForConfig returns the variables of cfg's builds: the ISO at isoPath, the
// kickstart server on ksPort, keys from <root>/keys and output into
// <root>/.cache/packer-output/<version>/<vm_name>/<provider>; the firmware,
// boot menu, CPU and VMware guest type of its OS release.
func ForConfig(cfg *config.Config, isoPath string, ksPort int) Vars {
	major := config.Major(cfg.OS.OSVersion)
	return Vars{
		Firmware:             string(cfg.Firmware()),
		BootMenu:             bootMenu(cfg.Firmware(), major),
		X8664V3:              major >= 10,
		VMwareGuestOSType:    vmwareGuestOSType(major),
		VMName:               cfg.OS.VMName,
		Version:              cfg.Site.Version,
		OSVersion:            cfg.OS.OSVersion,
		RepoServer:           cfg.OS.RepoServer,
		GCPGuestRepo:         cfg.Site.GCPGuestRepo,
		ISOPath:              isoPath,
		ISOChecksum:          "sha256:" + strings.ToLower(cfg.OS.ISOChecksum),
		KSPort:               ksPort,
		KSPath:               "/ks",
		Headless:             cfg.Site.Headless,
		DiskSize:             cfg.Site.DiskSize,
		CPUs:                 cfg.Site.CPUs,
		Memory:               cfg.Site.Memory,
		SSHTimeout:           cfg.Site.SSHTimeout,
		SSHPrivateKeyFile:    filepath.Join(cfg.Root, PackerKey),
		VagrantPublicKeyFile: filepath.Join(cfg.Root, VagrantPublicKey),
		OutputRoot:           filepath.Join(cfg.Root, cfg.Tree().PackerOutputRoot()),
		RepoRoot:             cfg.Root,

		VirtualBoxNATLocalhost: cfg.Site.VirtualBoxNATLocalhost,

		Namespace:    cfg.Site.Namespace,
		KSServer:     cfg.Site.KSServer,
		OSDefinition: osDefinition(cfg.OS),
		Guest:        cfg.Site.Guest,
	}.withSiteKickstart(cfg.Site.KSServer)
}

// withSiteKickstart points the guests at the site's kickstart server
// ks_server, when there is one, at <ks_server>/ks.php: the path the
// original's PHP server answers, and ks:up's and ks:serve's too. A server on
// this host's loopback (the original's own http://localhost:8080/) is
// reached as the in-process one is, through the guests' NAT (ks_port, an
// empty ks_base_url); one elsewhere at its own URL.
func (v Vars) withSiteKickstart(ksServer string) Vars {
	if ksServer == "" {
		return v
	}
	u, err := url.Parse(ksServer)
	if err != nil { // config validates it
		return v
	}
	v.KSPath = strings.TrimRight(u.Path, "/") + "/ks.php"
	if port, ok := config.LoopbackPort(u); ok {
		v.KSPort, v.KSBaseURL = port, ""
		return v
	}
	u.Path, u.RawPath = "", ""
	v.KSPort, v.KSBaseURL = 0, u.String()
	return v
}

// bootMenu is the menu an EL ISO boots into: GRUB2 under UEFI, and from
// EL 10 on under BIOS too (its ISOs dropped isolinux); isolinux otherwise.
func bootMenu(fw config.Firmware, major int) string {
	if fw == config.UEFI || major >= 10 {
		return "grub-install"
	}
	return "isolinux"
}

// vmwareGuestOSType is VMware's guest id for an EL major release; EL 10
// takes EL 9's until VMware products name it.
func vmwareGuestOSType(major int) string {
	switch {
	case major <= 7:
		return "centos7-64"
	case major == 8:
		return "rhel8-64"
	default:
		return "rhel9-64"
	}
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

// Command writes v to the var-file varFile (WriteVarFile) and returns the
// arguments of `packer <sub> [flags...] [-only=...] -var-file=<varFile>
// templates/packer`: builds and validation pass Packer the same variables
// the same way. sub is "build", "validate" or "console"; flags are the
// subcommand's own (e.g. "-color=false"); ps selects the builds (all when
// empty). The template folder is relative: run Packer in the repository
// root.
func Command(sub, varFile string, v Vars, ps []providers.Provider, flags ...string) ([]string, error) {
	if err := v.WriteVarFile(varFile); err != nil {
		return nil, err
	}
	args := append([]string{sub}, flags...)
	if o := Only(ps); o != "" {
		args = append(args, o)
	}
	return append(args, "-var-file="+varFile, TemplatesDir), nil
}

// Env is what Packer's environment gets added: no update check.
var Env = []string{"CHECKPOINT_DISABLE=1"}

// Validate runs `packer validate` of the templates below root with v for the
// providers ps (all when empty), through a var-file in a temporary folder
// that is removed afterwards. Packer's output goes to log; on failure the
// error holds its last lines.
func Validate(ctx context.Context, bin, root string, v Vars, ps []providers.Provider, log io.Writer) error {
	tmp, err := os.MkdirTemp("", "packer-vars-")
	if err != nil {
		return fmt.Errorf("validating the Packer templates in %s for %q: %w", TemplatesDir, v.VMName, err)
	}
	defer os.RemoveAll(tmp)
	args, err := Command("validate", filepath.Join(tmp, "vars.json"), v, ps)
	if err == nil {
		err = run.Run(ctx, run.Cmd{Name: bin, Args: args, Dir: root, Env: Env, Output: log, Timeout: 5 * time.Minute, Hint: "Packer stalled reading the templates"})
	}
	if err != nil {
		return fmt.Errorf("validating the Packer templates in %s for %q: %w", TemplatesDir, v.VMName, err)
	}
	return nil
}
