// Package buildrecord writes manifest.json beside each provider's artifacts:
// what went into the build (OS definition, effective site settings with the
// secrets redacted, ISO, kickstart, Packer, Ansible, source commit) and what
// came out (each file's name, size and sha256). It is written before
// SHA256SUM, which covers it. The same inputs give the same record apart
// from the start and end times, and a record that would differ only in them
// is not rewritten, so a re-run leaves the folder's SHA256SUM current.
package buildrecord

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"gold-standard-images/internal/ansiblecore"
	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/hashfile"
	"gold-standard-images/internal/iso"
	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/pipeline"
	"gold-standard-images/internal/redact"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/tree"
)

// FileName is the record's name in each provider folder.
const FileName = "manifest.json"

// Unknown is said of a fact that could not be found (no git, no Ansible).
const Unknown = "unknown"

// Redacted stands for a secret's value.
const Redacted = redact.Mark

// Record is manifest.json.
type Record struct {
	Schema    int             `json:"schema"` // 1
	VMName    string          `json:"vm_name"`
	Version   string          `json:"version"`
	Provider  string          `json:"provider"`
	OS        json.RawMessage `json:"os"`                  // the OS definition, credentials in URLs redacted
	Site      json.RawMessage `json:"site"`                // the effective site settings, secrets redacted
	ISO       ISO             `json:"iso,omitzero"`        // a kickstart family's; none for a bootstrap
	Kickstart Kickstart       `json:"kickstart,omitzero"`  // a kickstart family's; none for a bootstrap
	Packer    Packer          `json:"packer,omitzero"`     // a kickstart family's; none for a bootstrap
	Bootstrap *Bootstrap      `json:"bootstrap,omitempty"` // a bootstrap family's (config.Bootstrap)
	Ansible   Ansible         `json:"ansible,omitzero"`    // a kickstart family's; a bootstrap runs no Ansible
	Source    Source          `json:"source"`
	Started   time.Time       `json:"started"`
	Finished  time.Time       `json:"finished"`
	Artifacts []File          `json:"artifacts"` // every file of the folder but manifest.json and SHA256SUM, by name
}

// ISO is the installation ISO.
type ISO struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	// ChecksumFile is the definition's clear-signed checksum file, empty
	// when it names none.
	ChecksumFile string `json:"checksum_file,omitempty"`
	// SignatureVerified says the ISO cache recorded that checksum file's
	// signature (and the ISO's line in it) as verified.
	SignatureVerified bool `json:"signature_verified"`
}

// Kickstart is the kickstart the guest was sent.
type Kickstart struct {
	Build  string `json:"build"`            // the build definition, virtual/<provider>
	SHA256 string `json:"sha256,omitempty"` // of the body the in-process server sent; empty when it sent none in this run
	Note   string `json:"note,omitempty"`   // why there is no sha256
}

// Packer is the Packer side of the build.
type Packer struct {
	Version string `json:"version"`
	// TemplatesSHA256 is the hash of templates/packer (pipeline.TreeSHA256).
	TemplatesSHA256 string `json:"templates_sha256"`
	// VarFileContractSHA256 is the hash of the var-file's variable names
	// and types (packer.Vars), the contract between the Go code and the
	// templates.
	VarFileContractSHA256 string `json:"var_file_contract_sha256"`
}

// Bootstrap is how a family without an installer made the image: the tool
// and the archives it read (the SBOM lists the packages and their versions,
// base-files the point release).
type Bootstrap struct {
	Tool           string `json:"tool"` // e.g. "mmdebstrap 1.3.5"
	Suite          string `json:"suite"`
	Mirror         string `json:"mirror"`
	SecurityMirror string `json:"security_mirror"`
	ScriptsSHA256  string `json:"scripts_sha256"` // scripts/, its recipes among them
}

// Ansible is the provisioning side.
type Ansible struct {
	CoreVersion     string `json:"core_version"`
	PlaybooksSHA256 string `json:"playbooks_sha256"` // ansible/
	ScriptsSHA256   string `json:"scripts_sha256"`   // scripts/
}

// Source is the repository the build ran from.
type Source struct {
	Commit string `json:"commit"` // or "unknown"
	Dirty  string `json:"dirty"`  // "yes", "no" or "unknown"
}

// File is one artifact.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Inputs are what one provider's record is made of, besides the folder.
type Inputs struct {
	Config        *config.Config
	Provider      string
	PackerVersion string
	// ISOCache is the ISO cache folder (tree.ISOCache) whose record says
	// whether the ISO's signature was verified.
	ISOCache string
	// KickstartSHA256 is the sha256 of the kickstart the server sent for
	// the provider's build; empty when it sent none in this run.
	KickstartSHA256 string
	// BootstrapTool is the bootstrap's tool and version, for a family
	// without an installer.
	BootstrapTool string
	Started       time.Time
	Finished      time.Time
}

// Make returns the record of the provider folder dir (absolute).
func Make(ctx context.Context, in Inputs, dir string) (Record, error) {
	cfg := in.Config
	r := Record{Schema: 1, VMName: cfg.OS.VMName, Version: cfg.Site.Version, Provider: in.Provider,
		Started: in.Started.UTC().Truncate(time.Second), Finished: in.Finished.UTC().Truncate(time.Second)}
	var problems []error
	var err error
	if r.OS, err = redactedJSON(cfg.OS); err != nil {
		problems = append(problems, err)
	}
	site := cfg.Site
	site.Signing = config.Signing{} // where the site keeps its keys is not the build's business
	if r.Site, err = redactedJSON(site); err != nil {
		problems = append(problems, err)
	}

	if cfg.OS.Installer() == config.Bootstrap {
		r.Bootstrap = &Bootstrap{Tool: in.BootstrapTool, Suite: cfg.OS.Suite, Mirror: redact.URL(cfg.Site.DebianMirror), SecurityMirror: redact.URL(cfg.Site.DebianSecurityMirror)}
	} else {
		r.ISO = ISO{Name: cfg.OS.ISOFile(), SHA256: strings.ToLower(cfg.OS.ISOChecksum), ChecksumFile: cfg.OS.ISOChecksumFile}
		if v, ok := iso.CacheRecord(in.ISOCache, cfg.OS.ISOFile()); ok && strings.EqualFold(v.SHA256, r.ISO.SHA256) {
			r.ISO.SignatureVerified = v.Signed && cfg.OS.ISOChecksumFile != ""
		}

		r.Kickstart = Kickstart{Build: "virtual/" + in.Provider, SHA256: in.KickstartSHA256}
		switch {
		case cfg.Site.KSServer != "":
			r.Kickstart.Note = "served by the site's ks_server, not by this build"
		case in.KickstartSHA256 == "":
			r.Kickstart.Note = "not served in this run (the build was up to date)"
		}
	}

	hash := func(dir string) string {
		sum, err := pipeline.TreeSHA256(cfg.Root, dir)
		if err != nil {
			problems = append(problems, err)
		}
		return sum
	}
	if r.Bootstrap == nil {
		r.Packer = Packer{Version: in.PackerVersion, TemplatesSHA256: hash(packer.TemplatesDir), VarFileContractSHA256: VarFileContract()}
		r.Ansible = Ansible{CoreVersion: ansiblecore.Version(ctx, "ansible"), PlaybooksSHA256: hash("ansible"), ScriptsSHA256: hash("scripts")}
	} else {
		r.Bootstrap.ScriptsSHA256 = hash("scripts")
	}
	r.Source = gitSource(ctx, cfg.Root)

	files, err := artifacts(ctx, dir)
	if err != nil {
		problems = append(problems, err)
	}
	r.Artifacts = files
	if len(problems) > 0 {
		return Record{}, fmt.Errorf("making the build record of %q: %w", dir, errors.Join(problems...))
	}
	return r, nil
}

// Write makes the record of the provider folder dir and writes it to
// dir/manifest.json atomically, unless the record there already says the
// same apart from the times. It returns the record's path and whether it
// was written.
func Write(ctx context.Context, in Inputs, dir string) (string, bool, error) {
	r, err := Make(ctx, in, dir)
	if err != nil {
		return "", false, err
	}
	path := filepath.Join(dir, FileName)
	if old, err := Read(path); err == nil {
		// An up-to-date build serves no kickstart: the artifacts are those
		// of the run that did, so its kickstart stands.
		if in.KickstartSHA256 == "" && old.Kickstart.SHA256 != "" && sameFiles(old.Artifacts, r.Artifacts) {
			r.Kickstart = old.Kickstart
		}
		if SameApartFromTimes(old, r) {
			return path, false, nil
		}
	}
	data, err := Marshal(r)
	if err != nil {
		return "", false, err
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return "", false, fmt.Errorf("writing the build record %q: %w", path, err)
	}
	// Recorded as made by the build, so that SHA256SUM takes the new
	// record's digest (a FORCE=1 rebuild) instead of refusing it as changed.
	sum := sha256.Sum256(data)
	if err := tree.WriteMade(path, hex.EncodeToString(sum[:])); err != nil {
		return "", false, err
	}
	return path, true, nil
}

// sameFiles reports whether two artifact lists name the same files with
// the same sizes and digests.
func sameFiles(a, b []File) bool {
	return reflect.DeepEqual(a, b)
}

// Marshal is r as indented JSON.
func Marshal(r Record) ([]byte, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("writing the build record of %q: %w", r.Provider, err)
	}
	return append(data, '\n'), nil
}

// Read reads the record at path.
func Read(path string) (Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Record{}, fmt.Errorf("reading the build record %q: %w", path, err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return Record{}, fmt.Errorf("reading the build record %q: %w", path, err)
	}
	return r, nil
}

// SameApartFromTimes reports whether a and b differ in nothing but their
// start and end times.
func SameApartFromTimes(a, b Record) bool {
	a.Started, a.Finished, b.Started, b.Finished = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// VarFileContract is the sha256 of the var-file's variables: the JSON name
// and Go type of each field of packer.Vars, in order.
func VarFileContract() string {
	h := sha256.New()
	t := reflect.TypeOf(packer.Vars{})
	for i := range t.NumField() {
		f := t.Field(i)
		fmt.Fprintf(h, "%s %s\n", f.Tag.Get("json"), f.Type)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// secretKey matches the names of settings whose values are secrets.
var secretKey = regexp.MustCompile(`(?i)(pass|salt|secret|token|credential|private|api_?key|access_?key)`)

// redactedJSON is v as JSON with secrets replaced by Redacted: the value
// of every key secretKey matches, and the credentials of every URL.
func redactedJSON(v any) (json.RawMessage, error) {
	out, err := redact.JSON(v, secretKey.MatchString)
	if err != nil {
		return nil, fmt.Errorf("recording the settings: %w", err)
	}
	return out, nil
}

// artifacts lists the files of dir but manifest.json, SHA256SUM, its
// signature, the provenance (which quotes this record) and the hidden
// ones, with sizes and sha256s: from convert's record where it has
// one and the file is unchanged, from a current SHA256SUM, else hashed.
func artifacts(ctx context.Context, dir string) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing the artifacts in %q: %w", dir, err)
	}
	listed := map[string]string{}
	if sums, current, err := checksum.ReadFolder(dir); err == nil && current {
		for _, e := range sums {
			listed[e.Name] = e.SHA256
		}
	}
	var out []File
	for _, e := range entries {
		name := e.Name()
		if tree.Hidden(name) || name == FileName || name == checksum.FileName || name == checksum.SignatureFile || strings.HasSuffix(name, tree.ProvenanceSuffix) || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, name)
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("listing the artifacts in %q: %w", dir, err)
		}
		f := File{Name: name, Size: info.Size()}
		if m, ok := tree.ReadMade(path); ok && m.SHA256 != "" && m.Unchanged(path) {
			f.SHA256 = m.SHA256
		} else if sum, ok := listed[name]; ok {
			f.SHA256 = sum
		} else if f.SHA256, err = hashfile.File(ctx, path); err != nil {
			return nil, fmt.Errorf("hashing the artifact %q: %w", path, err)
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(out) == 0 {
		return nil, fmt.Errorf("listing the artifacts in %q: none", dir)
	}
	return out, nil
}

// gitSource is the commit checked out in root and whether the tree has
// changes; Unknown for both outside a git checkout or without git.
func gitSource(ctx context.Context, root string) Source {
	s := Source{Commit: Unknown, Dirty: Unknown}
	out, err := run.Output(ctx, run.Cmd{Name: "git", Args: []string{"rev-parse", "HEAD"}, Dir: root, Timeout: time.Minute})
	if err != nil {
		return s
	}
	s.Commit = strings.TrimSpace(string(out))
	out, err = run.Output(ctx, run.Cmd{Name: "git", Args: []string{"status", "--porcelain"}, Dir: root, Timeout: time.Minute})
	switch {
	case err != nil:
	case len(bytes.TrimSpace(out)) > 0:
		s.Dirty = "yes"
	default:
		s.Dirty = "no"
	}
	return s
}
