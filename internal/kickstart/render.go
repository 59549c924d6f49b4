package kickstart

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"

	"golang.org/x/crypto/ssh"

	"gold-standard-images/internal/config"
)

// Target is what a kickstart needs of one OS definition and the site
// settings: nothing else of the configuration (no plain password, no cloud
// settings) ever reaches the renderer or the kickstart server.
type Target struct {
	VMName           string   `json:"vm_name"`
	Family           string   `json:"family"`                  // template http/templates/<family>.ks.tmpl
	OSVersion        string   `json:"os_version"`              // release, e.g. "9.6": its major release picks the checker's tables
	Firmware         string   `json:"firmware"`                // "bios" or "uefi" (an EFI system partition)
	RepoURL          string   `json:"repo_url"`                // package tree (EL 8+: BaseOS); empty installs from the ISO (cdrom)
	AppStreamURL     string   `json:"appstream_url,omitempty"` // EL 8+: the AppStream repository beside BaseOS
	Lang             string   `json:"lang"`
	Keyboard         string   `json:"keyboard"`
	Timezone         string   `json:"timezone"`
	NTPServers       []string `json:"ntp_servers,omitempty"` // empty keeps the vendor's pool
	RootPasswordHash string   `json:"root_password_hash"`    // "$6$..." crypt hash
}

// FromConfig takes the target of a loaded configuration, with its root
// password hash (a build's random password stays that build's).
func FromConfig(c *config.Config) Target {
	return Target{
		VMName: c.OS.VMName, Family: c.OS.Family, OSVersion: c.OS.OSVersion, Firmware: string(c.Firmware()),
		RepoURL: c.OS.RepoURL(), AppStreamURL: c.OS.AppStreamURL(),
		Lang: c.Site.Lang, Keyboard: c.Site.Keyboard, Timezone: c.Site.Timezone, NTPServers: c.Site.NTPServers,
		RootPasswordHash: c.RootPasswordHash(),
	}
}

var (
	ntpHostRE  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$`)
	versionRE  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)
	hashRE     = regexp.MustCompile(`^\$6\$[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$`)
	langRE     = regexp.MustCompile(`^[A-Za-z]{2,3}(_[A-Za-z]{2})?(\.[A-Za-z0-9-]+)?(@[A-Za-z]+)?$`)
	timezoneRE = regexp.MustCompile(`^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$`)
)

func (t Target) check() error {
	var p []string
	if !nameRE.MatchString(t.VMName) {
		p = append(p, fmt.Sprintf("vm_name %q: want letters, digits, '.', '_' or '-'", t.VMName))
	}
	if !tokenRE.MatchString(t.Family) {
		p = append(p, fmt.Sprintf("family %q: want a template family such as rhel7", t.Family))
	}
	if config.Major(t.OSVersion) == 0 || !versionRE.MatchString(t.OSVersion) {
		p = append(p, fmt.Sprintf("os_version %q: want a release such as 9.6", t.OSVersion))
	}
	if t.Firmware != string(config.BIOS) && t.Firmware != string(config.UEFI) {
		p = append(p, fmt.Sprintf("firmware %q: want bios or uefi", t.Firmware))
	}
	for _, r := range []string{t.RepoURL, t.AppStreamURL} {
		if r == "" {
			continue
		}
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ftp" && u.Scheme != "nfs") || strings.ContainsAny(r, " \t\r\n\"'") {
			p = append(p, fmt.Sprintf("repo URL %q: want an http(s), ftp or nfs URL without spaces", r))
		}
	}
	if !langRE.MatchString(t.Lang) {
		p = append(p, fmt.Sprintf("lang %q: want a locale such as en_US.UTF-8", t.Lang))
	}
	if !tokenRE.MatchString(t.Keyboard) {
		p = append(p, fmt.Sprintf("keyboard %q: want a layout such as us", t.Keyboard))
	}
	if !timezoneRE.MatchString(t.Timezone) {
		p = append(p, fmt.Sprintf("timezone %q: want a zone such as UTC or Europe/Berlin", t.Timezone))
	}
	for _, h := range t.NTPServers {
		if !ntpHostRE.MatchString(h) {
			p = append(p, fmt.Sprintf("NTP server %q: want a host name or IP address", h))
		}
	}
	if !hashRE.MatchString(t.RootPasswordHash) {
		p = append(p, "root password hash: want a SHA-512 crypt hash ($6$...)")
	}
	if len(p) > 0 {
		return fmt.Errorf("kickstart target %q: %s", t.VMName, strings.Join(p, "; "))
	}
	return nil
}

// Data is what a template sees.
type Data struct {
	Build         Build
	OS            Target
	AuthorizedKey string // root's authorized key, one line
	BootLine      string // metal hosts: the kernel arguments that start the install
}

// Kickstarts holds everything needed to render: build definitions,
// templates per family, the authorized key and the OS targets. It is loaded
// once; rendering never reads files. An OS target that could not be loaded
// (a malformed definition, a family without a template) is kept apart in
// broken: it fails alone, every other OS renders.
type Kickstarts struct {
	builds    Builds
	templates map[string]*template.Template
	targets   map[string]Target
	broken    map[string]error
	key       string
}

// Options says where Load finds what the files do not give.
type Options struct {
	// AuthorizedKey is root's authorized key; empty reads root/keys/packer.pub.
	AuthorizedKey string
}

// Load reads the build definitions and templates below root and checks that
// every target has a template for its family. A target that fails is kept
// out (Problems, and Render names its problem); only what every OS needs
// (builds, the authorized key) fails Load.
func Load(root string, targets []Target, opts Options) (*Kickstarts, error) {
	builds, err := LoadBuilds(root)
	if err != nil {
		return nil, err
	}
	key := opts.AuthorizedKey
	if key == "" {
		data, err := os.ReadFile(filepath.Join(root, KeyFile))
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("reading root's authorized key %q: the file is missing: run `mage keys`", KeyFile)
		}
		if err != nil {
			return nil, fmt.Errorf("reading root's authorized key %q: %w", KeyFile, err)
		}
		key = string(data)
	}
	if key, err = checkAuthorizedKey(key); err != nil {
		return nil, fmt.Errorf("reading root's authorized key %q: %w", KeyFile, err)
	}
	k := &Kickstarts{builds: builds, templates: map[string]*template.Template{}, targets: map[string]Target{}, broken: map[string]error{}, key: key}
	for _, t := range targets {
		if err := t.check(); err != nil {
			k.broken[t.VMName] = err
			continue
		}
		if _, ok := k.templates[t.Family]; !ok {
			tmpl, err := loadTemplate(root, t.Family)
			if err != nil {
				k.broken[t.VMName] = fmt.Errorf("OS definition %q: %w", config.OSDir+"/"+t.VMName+".json", err)
				continue
			}
			k.templates[t.Family] = tmpl
		}
		k.targets[t.VMName] = t
	}
	return k, nil
}

// Problems returns the error of every OS that could not be loaded, in
// vm_name order; the others render.
func (k *Kickstarts) Problems() []error {
	var errs []error
	for _, n := range slices.Sorted(maps.Keys(k.broken)) {
		errs = append(errs, k.broken[n])
	}
	return errs
}

func loadTemplate(root, family string) (*template.Template, error) {
	rel := TemplatesDir + "/" + family + ".ks.tmpl"
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, fmt.Errorf("loading the kickstart template of family %q: %w", family, err)
	}
	tmpl, err := template.New(rel).Option("missingkey=error").Funcs(template.FuncMap{"join": strings.Join}).Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("parsing kickstart template %q: %w", rel, err)
	}
	return tmpl, nil
}

// checkAuthorizedKey accepts exactly one public key line.
func checkAuthorizedKey(key string) (string, error) {
	key = strings.TrimSpace(key)
	if strings.Contains(key, "PRIVATE KEY") {
		return "", errors.New("it holds a private key; want the public key (.pub)")
	}
	if strings.ContainsAny(key, "\r\n") {
		return "", errors.New("want one public key on one line")
	}
	if _, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(key)); err != nil {
		return "", fmt.Errorf("want an OpenSSH public key: %w", err)
	} else if len(rest) > 0 {
		return "", errors.New("want one public key on one line")
	}
	return key, nil
}

// Builds returns the build names, sorted.
func (k *Kickstarts) Builds() []string { return k.builds.Names() }

// OSNames returns the vm_names of the targets, sorted.
func (k *Kickstarts) OSNames() []string {
	names := make([]string, 0, len(k.targets))
	for n := range k.targets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrUnknownBuild and ErrUnknownOS say which of the two names was not found.
var (
	ErrUnknownBuild = errors.New("unknown build")
	ErrUnknownOS    = errors.New("unknown OS")
)

// Render writes the kickstart of build for the OS vmName to w. baseURL
// (e.g. "http://192.0.2.1:8080") is where the metal boot-line comment points
// inst.ks at: <baseURL>/ks, or baseURL itself when it ends in the original
// PHP server's /ks.php. Nothing is written when rendering fails.
func (k *Kickstarts) Render(w io.Writer, build, vmName, baseURL string) error {
	b, ok := k.builds[build]
	if !ok {
		return fmt.Errorf("rendering kickstart: %w %q; known: %s", ErrUnknownBuild, build, strings.Join(k.Builds(), ", "))
	}
	if err, ok := k.broken[vmName]; ok {
		return fmt.Errorf("rendering kickstart %s for %s: %w", build, vmName, err)
	}
	t, ok := k.targets[vmName]
	if !ok {
		return fmt.Errorf("rendering kickstart: %w %q; known: %s", ErrUnknownOS, vmName, strings.Join(k.OSNames(), ", "))
	}
	d := Data{Build: b, OS: t, AuthorizedKey: k.key}
	if b.Static {
		ks := baseURL + "/ks"
		if strings.HasSuffix(baseURL, "/ks.php") {
			ks = baseURL
		}
		d.BootLine = BootLine(b, ks+"?build="+b.Name+"&os="+t.VMName)
	}
	var buf bytes.Buffer
	if err := k.templates[t.Family].Execute(&buf, d); err != nil {
		return fmt.Errorf("rendering kickstart %s for %s: %w", build, vmName, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// BootLine is the kernel arguments that install a metal host from ksURL;
// bootdev names the interface the installer takes the address on (a host
// with several NICs would otherwise ask), as the original's boot line did.
func BootLine(b Build, ksURL string) string {
	ns := ""
	if len(b.Nameservers) > 0 {
		ns = b.Nameservers[0]
	}
	return fmt.Sprintf("inst.ks=%s bootdev=%s ip=%s gateway=%s netmask=%s nameserver=%s", ksURL, b.Device, b.IPAddr, b.Gateway, b.Netmask, ns)
}

// MarshalTargets and UnmarshalTargets carry the targets into the
// container image (targets.json), so the server there needs no site file.
func MarshalTargets(ts []Target) ([]byte, error) { return json.MarshalIndent(ts, "", "  ") }

// UnmarshalTargets reads what MarshalTargets wrote.
func UnmarshalTargets(data []byte) ([]Target, error) {
	var ts []Target
	if err := json.Unmarshal(data, &ts); err != nil {
		return nil, fmt.Errorf("reading kickstart targets: %w", err)
	}
	return ts, nil
}
