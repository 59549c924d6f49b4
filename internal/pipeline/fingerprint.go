package pipeline

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/providers"
)

// InputDirs are the folders (relative to the root) whose content goes into
// every build's fingerprint: the kickstart templates and build definitions
// (the rendered kickstart holds a random root password hash, so the
// templates stand for it), the Ansible files, the guest scripts and the
// Packer templates.
var InputDirs = []string{"http", "ansible", "scripts", packer.TemplatesDir}

// InputFiles are single files (relative to the root) in the fingerprint
// besides the OS definition; the public keys end up in the image.
var InputFiles = []string{"keys/packer.pub", "keys/vagrant.pub"}

// Fingerprints returns, per provider, the fingerprint of the inputs of
// cfg's builds that decides whether a build is up to date (see
// fingerprints); `mage plan` uses it as the cache key of CI jobs.
func Fingerprints(cfg *config.Config, selected []providers.Provider, packerVersion string) (map[string]string, error) {
	return fingerprints(cfg, selected, packerVersion)
}

// fingerprints returns, per provider, the sha256 of everything a build's
// result depends on: the OS definition, the effective site settings (no
// secrets in clear), the InputDirs and InputFiles, the Packer version, the
// ISO's sha256 and the provider's Packer source.
func fingerprints(cfg *config.Config, selected []providers.Provider, packerVersion string) (map[string]string, error) {
	h := sha256.New()
	field := func(name, value string) { fmt.Fprintf(h, "%s %d %s\n", name, len(value), value) }

	site := cfg.Site
	if site.RootPass != "" {
		// The image's /etc/shadow changes with the password: stand for it
		// by a keyed hash only this site can make (passwordTerm), since
		// mage plan publishes the fingerprint as a cache key.
		field("root_pass", passwordTerm(cfg.Root, site.RootPass))
	}
	settings, err := json.Marshal(struct {
		Site config.Site
		OS   config.OS
	}{site.BuildOnly(), cfg.OS})
	if err != nil {
		return nil, err
	}
	field("settings", string(settings))
	field("packer_version", packerVersion)
	field("iso_sha256", strings.ToLower(cfg.OS.ISOChecksum))

	files := append([]string{filepath.ToSlash(filepath.Join(config.OSDir, cfg.OS.VMName+".json"))}, InputFiles...)
	for _, rel := range files {
		if err := hashFile(h, cfg.Root, rel); err != nil {
			return nil, err
		}
	}
	for _, dir := range InputDirs {
		if err := hashTree(h, cfg.Root, dir); err != nil {
			return nil, err
		}
	}
	common := h.Sum(nil)

	out := map[string]string{}
	for _, p := range selected {
		ph := sha256.New()
		ph.Write(common)
		fmt.Fprintf(ph, "provider %s %s\n", p.Name, p.PackerSource())
		out[p.Name] = hex.EncodeToString(ph.Sum(nil))
	}
	return out, nil
}

// SiteKey is the file whose content keys the root password's term in the
// fingerprint: the site's private key, random, made once by mage keys
// (0600) and written by CI from its secret store, so that the fingerprint
// is stable across runs on one site.
const SiteKey = "keys/packer"

// passwordTerm is HMAC-SHA256 of password under a key derived from the
// site's private key (SiteKey): it changes with the password, but nobody
// without that key can test a guess of the password against a published
// fingerprint (a hash with a fixed salt let anyone do so offline). Without
// the key (mage plan warns then: every job makes its own) it is random,
// which only makes the build out of date.
func passwordTerm(root, password string) string {
	secret, err := os.ReadFile(filepath.Join(root, SiteKey))
	if err != nil || len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	k := sha256.Sum256(append([]byte("gold-standard-images fingerprint key\n"), secret...))
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(password))
	return hex.EncodeToString(m.Sum(nil))
}

// hashFile adds rel's name and content (or its absence) to h.
func hashFile(h hash.Hash, root, rel string) error {
	f, err := os.Open(filepath.Join(root, rel))
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(h, "absent %s\n", rel)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading build input %q: %w", rel, err)
	}
	defer f.Close()
	fmt.Fprintf(h, "file %s\n", rel)
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("reading build input %q: %w", rel, err)
	}
	fmt.Fprintf(h, "\nend %s\n", rel)
	return nil
}

// TreeSHA256 is the sha256 of the files below dir (relative to root) as
// the fingerprint hashes them: names and contents, in name order. The
// build record quotes it for the templates, playbooks and scripts.
func TreeSHA256(root, dir string) (string, error) {
	h := sha256.New()
	if err := hashTree(h, root, dir); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashTree adds every regular file below dir, in name order, to h.
func hashTree(h hash.Hash, root, dir string) error {
	var files []string
	err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == filepath.Join(root, dir) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading build inputs in %q: %w", dir, err)
	}
	sort.Strings(files)
	fmt.Fprintf(h, "tree %s %d\n", dir, len(files))
	for _, rel := range files {
		if err := hashFile(h, root, rel); err != nil {
			return err
		}
	}
	return nil
}

// stamp records a successful build: the fingerprint of its inputs and the
// files it left in its output folder.
type stamp struct {
	Fingerprint string       `json:"fingerprint"`
	Built       time.Time    `json:"built"`
	Output      []outputFile `json:"output"`
}

type outputFile struct {
	Path string `json:"path"` // relative to the root
	Size int64  `json:"size"`
}

// listOutput lists the regular files below outRel (relative to root).
func listOutput(root, outRel string) ([]outputFile, error) {
	var out []outputFile
	err := filepath.WalkDir(filepath.Join(root, outRel), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		out = append(out, outputFile{Path: filepath.ToSlash(rel), Size: info.Size()})
		return nil
	})
	return out, err
}

// writeStamp records the build whose output is in outRel.
func writeStamp(root, outRel, path, fingerprint string) error {
	files, err := listOutput(root, outRel)
	if err != nil {
		return fmt.Errorf("listing the Packer output %q: %w", outRel, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("packer succeeded but left no file in %q", outRel)
	}
	data, err := json.MarshalIndent(stamp{Fingerprint: fingerprint, Built: time.Now().UTC(), Output: files}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o600)
}

// upToDate reports whether p's last successful build had the inputs
// fingerprint and its output files are all still there, with their sizes;
// if not, why says what changed.
func upToDate(root, fingerprint, stampRel string) (ok bool, why string) {
	data, err := os.ReadFile(filepath.Join(root, stampRel))
	if errors.Is(err, fs.ErrNotExist) {
		return false, "no successful build recorded"
	}
	if err != nil {
		return false, fmt.Sprintf("cannot read %s: %v", stampRel, err)
	}
	var s stamp
	if err := json.Unmarshal(data, &s); err != nil {
		return false, fmt.Sprintf("cannot read %s: %v", stampRel, err)
	}
	if s.Fingerprint != fingerprint {
		return false, "inputs changed since the last successful build"
	}
	if len(s.Output) == 0 {
		return false, "the last build recorded no output"
	}
	for _, f := range s.Output {
		info, err := os.Stat(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil {
			return false, fmt.Sprintf("output %s is gone", f.Path)
		}
		if info.Size() != f.Size {
			return false, fmt.Sprintf("output %s changed size", f.Path)
		}
	}
	return true, ""
}
