// Package config loads and validates the site settings
// (templates/site.json, optional) and an OS definition
// (templates/os/<vm_name>.json) into one Config that every step reads.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/redact"
	"gold-standard-images/internal/tree"
)

// Paths of the configuration files, relative to the repository root.
const (
	SiteFile = "templates/site.json"
	OSDir    = "templates/os"
)

// StringList is a JSON value given either as one string or as a list of
// strings (iso_server may name one server or several mirrors).
type StringList []string

// UnmarshalJSON accepts "a" as well as ["a", "b"].
func (l *StringList) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*l = many
	return nil
}

// OS is one OS definition, templates/os/<vm_name>.json. The first seven
// fields are those of the original project.
type OS struct {
	VMName      string     `json:"vm_name"`      // name of the definition and of every artifact
	OSName      string     `json:"os_name"`      // distribution, e.g. "CentOS" or "RedHat"
	OSVersion   string     `json:"os_version"`   // release, e.g. "7.9.2009"
	ISO         string     `json:"iso"`          // ISO file name without ".iso"
	ISOChecksum string     `json:"iso_checksum"` // sha256 of the ISO, 64 hex characters; empty takes it from the signed iso_checksum_file
	ISOServer   StringList `json:"iso_server"`   // mirror(s), vault first: <server>/<mirror_dir>/isos/x86_64/<iso>.iso
	RepoServer  string     `json:"repo_server"`  // package tree (RepoURL, AppStreamURL); empty installs from the ISO

	ISOURL          StringList `json:"iso_url,omitempty"`                     // full URL(s) or local path of the ISO, instead of iso_server
	ISOChecksumFile string     `json:"iso_checksum_file,omitempty"`           // clear-signed checksum file beside the ISO, e.g. "sha256sum.txt.asc"
	ISOSigningKey   string     `json:"iso_signing_key,omitempty"`             // armored public key (path in the repository) that signs it
	ISOSigningKeyFP string     `json:"iso_signing_key_fingerprint,omitempty"` // that key's fingerprint (40 hex, spaces allowed), checked before the key is trusted
	Family          string     `json:"os_family,omitempty"`                   // kickstart template family, e.g. "rhel7"; derived from os_version when empty
	SiteSuppliedISO bool       `json:"site_supplied_iso,omitempty"`           // the ISO comes from the site (customer portal), not from a public mirror
	MirrorDir       string     `json:"mirror_dir,omitempty"`                  // the release's folder on iso_server and repo_server, e.g. "9-stream"; default os_version
	Firmware        Firmware   `json:"firmware,omitempty"`                    // "bios" or "uefi"; empty takes the site's firmware (default bios)
	Suite           string     `json:"suite,omitempty"`                       // a bootstrap family's release, e.g. Debian's "bookworm"
}

// OSOverride lets templates/site.json set an OS definition's ISO and
// repository location, e.g. for RHEL, whose ISO each site downloads itself.
type OSOverride struct {
	ISOURL      StringList `json:"iso_url,omitempty"`
	ISOServer   StringList `json:"iso_server,omitempty"`
	ISOChecksum string     `json:"iso_checksum,omitempty"`
	RepoServer  string     `json:"repo_server,omitempty"`
	Firmware    Firmware   `json:"firmware,omitempty"`
}

// AWS holds the settings of upload:aws.
type AWS struct {
	Bucket        string `json:"bucket,omitempty"`         // S3 bucket the OVA is uploaded to (AWS_S3_BUCKET overrides)
	Region        string `json:"region,omitempty"`         // region; empty uses the SDK's default chain
	ImportRole    string `json:"import_role,omitempty"`    // VM Import service role
	ImportTimeout string `json:"import_timeout,omitempty"` // how long to wait for VM Import, Go duration
}

// Guest holds the site's choices where the images differ from the original
// project's on purpose; each field gives the original's back. Each is the
// Ansible variable of the same name (ansible/roles), which Packer passes.
type Guest struct {
	// CloudInitDisableRoot: cloud-init refuses root logins with the
	// instance's key (true, cloud-init's default); false lets root in with
	// it, as the original's images did.
	CloudInitDisableRoot bool `json:"cloud_init_disable_root"`
	// AzureAgentSwap: cloud-init makes swap on Azure's resource disk (true,
	// as the original's images had swap there); false: none.
	AzureAgentSwap bool `json:"azure_agent_swap"`
	// GCPNetworkIPv6: IPv6 on the gcp image's interfaces (true); false
	// turns it off, as the original's IPV6INIT=no did.
	GCPNetworkIPv6 bool `json:"gcp_network_ipv6"`
	// GCPSSHClientConfig: the original's ssh client settings on the gcp
	// image (StrictHostKeyChecking no among them); false (default) leaves
	// the distribution's.
	GCPSSHClientConfig bool `json:"gcp_ssh_client_config"`
}

// Signing says where the release signing keys are (internal/sign; the
// environment's GPG_SIGNING_KEY, COSIGN_KEY, ... override each field).
type Signing struct {
	GPGKey          string `json:"gpg_key,omitempty"`           // armored OpenPGP private key file, mode 0600
	GPGPublicKey    string `json:"gpg_public_key,omitempty"`    // its public half, for checking only
	CosignKey       string `json:"cosign_key,omitempty"`        // cosign's encrypted private key file, mode 0600
	CosignPassword  string `json:"cosign_password,omitempty"`   // its password (secret: keep the site file 0600)
	CosignPublicKey string `json:"cosign_public_key,omitempty"` // cosign.pub, for checking only
}

// Site holds the site settings, templates/site.json. Every field has a
// default (see Defaults), so the file is optional. A field tagged
// `build:"-"` does not change what Packer builds (see BuildOnly): a secret,
// an upload's or the signing's setting, or one LoadOS has already resolved
// into the OS definition.
type Site struct {
	Namespace  string `json:"namespace"`           // Vagrant box and registry namespace; the registry takes it in lower case
	Version    string `json:"version"`             // version of the images built (VERSION overrides)
	Headless   bool   `json:"headless"`            // run the hypervisors without a window
	KSServer   string `json:"ks_server"`           // kickstart base URL the guests use; empty starts one in-process
	DiskSize   int    `json:"disk_size"`           // disk size in MiB
	Lang       string `json:"lang"`                // installer and system language
	Keyboard   string `json:"keyboard"`            // keyboard layout
	Timezone   string `json:"timezone"`            // system time zone
	RootPass   string `json:"root_pass" build:"-"` // root password; empty makes a random one per build (secret)
	RootSalt   string `json:"root_salt" build:"-"` // salt for the root password hash; empty makes a random one
	SSHTimeout string `json:"ssh_timeout"`         // how long Packer waits for SSH, Go duration
	VMwareSHA  string `json:"vmware_sha"`          // hash algorithm of the vmware OVA's manifest (ovftool --shaAlgorithm): sha1, sha256 or sha512

	CPUs                   int  `json:"cpus"`                     // virtual CPUs of the build VMs
	Memory                 int  `json:"memory"`                   // memory of the build VMs in MiB
	VirtualBoxNATLocalhost bool `json:"virtualbox_nat_localhost"` // VirtualBox 7 NAT lets guests reach the host's loopback (false for VirtualBox 6.1)

	// ImageNames is how the uploads name the images they make: "original"
	// (the default), the original project's <vm_name>-<version>_<provider>
	// (GCP's in its name rule: centos-7-9-2009-1-0-0-gcp), or "short",
	// <vm_name>-<version>.
	ImageNames string `json:"image_names"`

	Firmware   Firmware   `json:"firmware,omitempty"`    // "bios" (default) or "uefi" for every OS whose definition does not say
	NTPServers StringList `json:"ntp_servers,omitempty"` // NTP servers of the installed systems; empty keeps the vendor's pool

	// GCPGuestRepo is the base of Google's yum tree the gcp image installs
	// Google's guest environment from: <url>/repos/google-compute-engine-
	// el<N>-x86_64-stable and the keys <url>/doc/*.gpg (a site mirror of
	// the tree, or Google's own).
	GCPGuestRepo string `json:"gcp_guest_repo"`

	// DebianMirror and DebianSecurityMirror are the archives a Debian
	// build bootstraps from (DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR
	// override them). Where the release is read from does not change what
	// is built (as the site's iso_server does not), so they are not in the
	// build fingerprint: FORCE=1 bootstraps again from the archive.
	DebianMirror         string `json:"debian_mirror,omitempty" build:"-"`
	DebianSecurityMirror string `json:"debian_security_mirror,omitempty" build:"-"`

	Guest Guest `json:"guest"` // choices about the guests where the original's images differ

	// ISOServer and RepoServer are the original project's site variables:
	// the site's mirrors for every OS definition. iso_server is tried
	// before each definition's own servers; repo_server replaces each
	// definition's package server. The "os" section's values win over both.
	ISOServer  StringList `json:"iso_server,omitempty"`
	RepoServer string     `json:"repo_server,omitempty"`

	Registry         string                `json:"registry,omitempty" build:"-"`          // container registry of upload:docker (REGISTRY overrides)
	RegistryInsecure bool                  `json:"registry_insecure,omitempty" build:"-"` // allow plain HTTP to a registry that is not localhost
	AWS              AWS                   `json:"aws" build:"-"`                         // upload:aws settings
	Signing          Signing               `json:"signing,omitzero" build:"-"`            // release signing keys
	OSOverrides      map[string]OSOverride `json:"os,omitempty" build:"-"`                // per-vm_name ISO and repository locations
}

// BuildOnly returns s without the settings that do not change what Packer
// builds (the fields tagged `build:"-"`), for the build fingerprint: a new
// upload's settings, tagged, leave it alone.
func (s Site) BuildOnly() Site {
	v := reflect.ValueOf(&s).Elem()
	for i := range v.NumField() {
		if v.Type().Field(i).Tag.Get("build") == "-" {
			v.Field(i).SetZero()
		}
	}
	return s
}

// Defaults returns the settings used when templates/site.json is absent; a
// site file's fields replace them one by one.
func Defaults() Site {
	return Site{
		Namespace:  "gold",
		Version:    "1.0.0",
		Headless:   true,
		DiskSize:   20480,
		Lang:       "en_US.UTF-8",
		Keyboard:   "us",
		Timezone:   "UTC",
		SSHTimeout: "60m",
		VMwareSHA:  "sha256",
		ImageNames: ImageNamesOriginal,
		CPUs:       2,
		Memory:     2048,
		// Google's documented location (cloud.google.com/compute/docs/images/install-guest-environment).
		GCPGuestRepo: "https://packages.cloud.google.com/yum",
		// Debian's own redirector and security archive.
		DebianMirror:         "http://deb.debian.org/debian",
		DebianSecurityMirror: "http://deb.debian.org/debian-security",
		Guest:                Guest{CloudInitDisableRoot: true, AzureAgentSwap: true, GCPNetworkIPv6: true},
		AWS:                  AWS{ImportRole: "vmimport", ImportTimeout: "2h"},

		VirtualBoxNATLocalhost: true,
	}
}

// Config is the validated configuration of one build: site settings and one
// OS definition, with the root password already hashed.
type Config struct {
	Root string // repository root
	Site Site
	OS   OS

	rootHash string
	siteFile bool
}

// RootPasswordHash returns the SHA-512 crypt hash ("$6$...") of the root
// password; the password itself is never kept.
func (c *Config) RootPasswordHash() string { return c.rootHash }

// Options changes how Load treats incomplete definitions.
type Options struct {
	// AllowMissingISO accepts a site-supplied ISO whose location or checksum
	// the site has not given yet (for validating templates, not for builds).
	AllowMissingISO bool
}

// Load reads templates/site.json (if present) and templates/os/<vmName>.json
// below root, applies defaults and environment overrides (VERSION), validates
// everything and hashes the root password. getenv is usually os.Getenv.
func Load(root, vmName string, getenv func(string) string, opts Options) (*Config, error) {
	site, hasSite, siteErr := LoadSite(root, getenv)
	osDef, osErr := LoadOS(root, vmName, site, opts)
	if err := errors.Join(siteErr, osErr); err != nil {
		return nil, redact.Error(err) // a bad iso_url is quoted without its password
	}
	hash, err := hashRootPassword(site.RootPass, site.RootSalt)
	if err != nil {
		return nil, err
	}
	return &Config{Root: root, Site: site, OS: osDef, rootHash: hash, siteFile: hasSite}, nil
}

// LoadSite reads templates/site.json below root over Defaults() and applies
// VERSION. A missing file is not an error; found reports whether it exists.
func LoadSite(root string, getenv func(string) string) (site Site, found bool, err error) {
	site = Defaults()
	path := filepath.Join(root, SiteFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// defaults only
	case err != nil:
		return site, false, fmt.Errorf("loading site settings %q: %w", SiteFile, err)
	default:
		found = true
		d := decodeStrict(data, &site)
		known, _ := Available(root) // without OS definitions, LoadOS reports it
		d.problems = merge(d.problems, validateSite(site, d.lines, known))
		for _, f := range [][2]string{{"root_pass", site.RootPass}, {"signing.cosign_password", site.Signing.CosignPassword}} {
			if info, err := os.Stat(path); err == nil && f[1] != "" && info.Mode().Perm()&0o077 != 0 {
				d.add(d.lines[f[0]], f[0], "the file holds a password but is readable by others (mode %04o): run chmod 600 %s", info.Mode().Perm(), SiteFile)
			}
		}
		if len(d.problems) > 0 {
			return site, true, &FileError{What: "loading site settings", File: SiteFile, Problems: d.problems}
		}
	}
	if v := envvar.Version.Get(getenv); v != "" {
		if msg := checkVersion(v); msg != "" {
			return site, found, fmt.Errorf("environment variable VERSION=%q: %s", v, msg)
		}
		site.Version = v
	}
	for _, m := range []struct {
		v    envvar.Text
		dest *string
	}{{envvar.DebianMirror, &site.DebianMirror}, {envvar.DebianSecurityMirror, &site.DebianSecurityMirror}} {
		if v := m.v.Get(getenv); v != "" {
			if msg := checkHTTPURL(v); msg != "" {
				return site, found, fmt.Errorf("environment variable %s=%q: %s", m.v.Name, redact.URL(v), msg)
			}
			*m.dest = v
		}
	}
	if site.VMwareSHA == "" {
		site.VMwareSHA = "sha256"
	}
	return site, found, nil
}

// LoadOS reads templates/os/<vmName>.json below root, applies the site's
// overrides for it and validates the result.
func LoadOS(root, vmName string, site Site, opts Options) (OS, error) {
	var def OS
	available, err := Available(root)
	if err != nil {
		return def, err
	}
	if !contains(available, vmName) {
		return def, errors.New(unknownVMName(vmName, available))
	}
	rel := OSDir + "/" + vmName + ".json"
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return def, fmt.Errorf("loading OS definition %q: %w", rel, err)
	}
	d := decodeStrict(data, &def)
	if def.Installer() != Bootstrap { // the site's ISO and package servers are EL's
		def = applySiteServers(def, site)
	}
	if o, ok := site.OSOverrides[vmName]; ok {
		def = applyOverride(def, o)
	}
	d.problems = merge(d.problems, validateOS(def, vmName, d.lines, opts))
	if len(d.problems) > 0 {
		return def, &FileError{What: "loading OS definition", File: rel, Problems: d.problems}
	}
	if def.Family == "" {
		def.Family = deriveFamily(def.OSVersion)
	}
	if def.Firmware == "" {
		def.Firmware = site.Firmware
	}
	if def.Firmware == "" {
		def.Firmware = BIOS
	}
	return def, nil
}

// unknownVMName says that vmName has no OS definition, suggesting the
// nearest of those available.
func unknownVMName(vmName string, available []string) string {
	msg := fmt.Sprintf("no OS definition %q in %s/", vmName, OSDir)
	if s := closest(vmName, available); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return fmt.Sprintf("%s; available: %s", msg, strings.Join(available, ", "))
}

// Available lists the vm_names that have a definition, sorted.
func Available(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, OSDir, "*.json"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(filepath.Base(m), ".json"))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no OS definitions in %s/ below %q", OSDir, root)
	}
	sort.Strings(names)
	return names, nil
}

// applySiteServers puts the site's iso_server before the definition's own
// servers and its repo_server in place of the definition's.
func applySiteServers(def OS, site Site) OS {
	if len(site.ISOServer) > 0 {
		def.ISOServer = append(append(StringList(nil), site.ISOServer...), def.ISOServer...)
	}
	if site.RepoServer != "" {
		def.RepoServer = site.RepoServer
	}
	return def
}

func applyOverride(def OS, o OSOverride) OS {
	if len(o.ISOURL) > 0 {
		def.ISOURL = o.ISOURL
	}
	if len(o.ISOServer) > 0 {
		def.ISOServer = o.ISOServer
	}
	if o.ISOChecksum != "" {
		def.ISOChecksum = o.ISOChecksum
	}
	if o.RepoServer != "" {
		def.RepoServer = o.RepoServer
	}
	if o.Firmware != "" {
		def.Firmware = o.Firmware
	}
	return def
}

// Installer is how an OS family gets onto the disk.
type Installer string

// The ways an OS gets onto the disk.
const (
	// Kickstart: the vendor's ISO boots Anaconda under Packer, which reads
	// the family's kickstart (http/templates/<family>.ks.tmpl) from the
	// kickstart server; Ansible provisions the guest over SSH.
	Kickstart Installer = "kickstart"
	// Bootstrap: no installer and no ISO; the root file system is
	// bootstrapped on the host (mmdebstrap), the provider's content added
	// in a chroot and each disk made with libguestfs (internal/debian).
	Bootstrap Installer = "bootstrap"
)

// Family is one OS family: a row of Families.
type Family struct {
	Name      string    // os_family
	Installer Installer // how the OS gets onto the disk
	Majors    []int     // the major releases (os_version) it serves
	// Builds says which providers it builds; nil is every one.
	Builds func(providers.Provider) bool
}

// Families are the OS families, one row each. A kickstart family has its
// template http/templates/<name>.ks.tmpl; EL 9 and 10 share one.
var Families = []Family{
	{Name: "rhel7", Installer: Kickstart, Majors: []int{7}},
	{Name: "rhel8", Installer: Kickstart, Majors: []int{8}},
	{Name: "rhel9", Installer: Kickstart, Majors: []int{9, 10}},
	{Name: "debian12", Installer: Bootstrap, Majors: []int{12}, Builds: qcow2Disks},
}

// qcow2Disks are the providers whose build leaves a qcow2 disk, the one
// kind a bootstrap makes so far (an OVA or a VMware VM is not made yet).
func qcow2Disks(p providers.Provider) bool { return p.Input == "qcow2" }

// FamilyNamed returns the row of the family name.
func FamilyNamed(name string) (Family, bool) {
	for _, f := range Families {
		if f.Name == name {
			return f, true
		}
	}
	return Family{}, false
}

// FamilyNames lists the names of the families, sorted.
func FamilyNames() []string {
	names := make([]string, len(Families))
	for i, f := range Families {
		names[i] = f.Name
	}
	sort.Strings(names)
	return names
}

// Installer says how the OS gets onto the disk (its family's row).
func (o OS) Installer() Installer {
	f, _ := FamilyNamed(o.Family)
	return f.Installer
}

// Major is the major release of an os_version: "9.6" -> 9; 0 when it has none.
func Major(version string) int {
	major, _, _ := strings.Cut(version, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return 0
	}
	return n
}

// deriveFamily maps an OS version to its kickstart family: "7.9.2009" ->
// "rhel7", "10.0" -> "rhel9"; "" when none serves it. Only kickstart
// families are derived (every EL definition predates os_family); another
// family's definition names it.
func deriveFamily(version string) string {
	for _, f := range Families {
		if f.Installer == Kickstart && slices.Contains(f.Majors, Major(version)) {
			return f.Name
		}
	}
	return ""
}

// Firmware is the firmware the build VMs boot with.
type Firmware string

// The firmwares a build can use.
const (
	BIOS Firmware = "bios"
	UEFI Firmware = "uefi"
)

// Firmware is the firmware the build VMs boot with: the OS definition's,
// else the site's, else BIOS. Uploads read it to mark images (GCP
// UEFI_COMPATIBLE, Azure HyperVGeneration V2).
func (c *Config) Firmware() Firmware { return c.OS.Firmware }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ISOURLs returns the places the ISO can be had from, in the order to try:
// iso_url when given, else <iso_server>/<mirror_dir>/isos/x86_64/<iso>.iso
// for each server (the layout of CentOS 7, Rocky and AlmaLinux mirrors and
// vaults). Entries may be http(s):// or file:// URLs or local paths.
func (o OS) ISOURLs() []string {
	if len(o.ISOURL) > 0 {
		return append([]string(nil), o.ISOURL...)
	}
	var urls []string
	for _, s := range o.ISOServer {
		urls = append(urls, strings.TrimRight(s, "/")+"/"+o.dir()+"/isos/x86_64/"+o.ISO+".iso")
	}
	return urls
}

// dir is the release's folder on the mirrors: mirror_dir, else os_version.
func (o OS) dir() string {
	if o.MirrorDir != "" {
		return o.MirrorDir
	}
	return o.OSVersion
}

// ISOFile is the file name of the ISO, e.g. "CentOS-7-x86_64-Minimal-2009.iso".
func (o OS) ISOFile() string { return o.ISO + ".iso" }

// RepoURL is the package tree the installer uses, or "" to install from
// the ISO: <repo_server>/<mirror_dir>/os/x86_64 for EL 7,
// <repo_server>/<mirror_dir>/BaseOS/x86_64/os from EL 8 on.
func (o OS) RepoURL() string {
	if o.RepoServer == "" {
		return ""
	}
	base := strings.TrimRight(o.RepoServer, "/") + "/" + o.dir()
	if Major(o.OSVersion) < 8 {
		return base + "/os/x86_64"
	}
	return base + "/BaseOS/x86_64/os"
}

// AppStreamURL is the AppStream repository of EL 8 and later
// (<repo_server>/<mirror_dir>/AppStream/x86_64/os), or "" for EL 7 and
// installs from the ISO.
func (o OS) AppStreamURL() string {
	if o.RepoServer == "" || Major(o.OSVersion) < 8 {
		return ""
	}
	return strings.TrimRight(o.RepoServer, "/") + "/" + o.dir() + "/AppStream/x86_64/os"
}

// LoopbackPort says whether u (the site's ks_server) names this host's
// loopback (localhost, 127.0.0.0/8, ::1), and its port there (80 when none
// is given).
func LoopbackPort(u *url.URL) (int, bool) {
	host := u.Hostname()
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return 0, false
	}
	port, err := strconv.Atoi(u.Port())
	if u.Port() == "" {
		port, err = 80, nil
	}
	return port, err == nil
}

// The values of image_names.
const (
	ImageNamesOriginal = "original" // <vm_name>-<version>_<provider>, as the original project's
	ImageNamesShort    = "short"    // <vm_name>-<version>
)

// ImageName is the name upload:<platform> gives the image (template, disk)
// it makes of provider's artifact: <vm_name>-<version>_<provider>, as the
// original project named them, or <vm_name>-<version> with image_names
// "short". A platform with its own name rule (GCP) applies it to this.
func (c *Config) ImageName(provider string) string {
	name := c.OS.VMName + "-" + c.Site.Version
	if c.Site.ImageNames == ImageNamesShort {
		return name
	}
	return name + "_" + provider
}

// Tree is the part of the on-disk tree this configuration's build writes:
// its artifacts, Packer output, logs and stamps.
func (c *Config) Tree() tree.Build {
	return tree.Build{Version: c.Site.Version, VMName: c.OS.VMName}
}

// Redacted returns the configuration as printed by `mage config` (JSON):
// secrets are replaced by a note saying whether they were set, and the
// credentials in every URL by REDACTED (internal/redact).
func (c *Config) Redacted() any {
	site := c.Site
	switch {
	case site.RootPass != "":
		site.RootPass = "(set in " + SiteFile + ", redacted)"
	default:
		site.RootPass = "(random for each build, never shown)"
	}
	if site.RootSalt != "" {
		site.RootSalt = "(set in " + SiteFile + ", redacted)"
	}
	if site.Signing.CosignPassword != "" {
		site.Signing.CosignPassword = "(set in " + SiteFile + ", redacted)"
	}
	out, err := redact.JSON(struct {
		Site      Site     `json:"site"`
		SiteFile  string   `json:"site_file"`
		OS        OS       `json:"os"`
		ISOURLs   []string `json:"iso_urls"`
		RepoURL   string   `json:"repo_url"`
		AppStream string   `json:"appstream_url,omitempty"`
	}{site, c.siteFileNote(), c.OS, c.OS.ISOURLs(), c.OS.RepoURL(), c.OS.AppStreamURL()}, nil)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	return out
}

func (c *Config) siteFileNote() string {
	if c.siteFile {
		return SiteFile
	}
	return "(none: defaults)"
}
