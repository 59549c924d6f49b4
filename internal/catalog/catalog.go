// Package catalog writes the Vagrant catalog of each vm_name of the
// artifacts tree, artifacts/<vm_name>.json: every version found, each with
// the Vagrant boxes of its provider folders, so that `vagrant box add
// artifacts/<vm_name>.json` and `vagrant box outdated` work. The debug boxes
// of the images that carry no vagrant user (all but virtualbox's) each
// go into a catalog of their own, artifacts/<vm_name>-<provider>.json.
package catalog

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/hashfile"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/redact"
	"gold-standard-images/internal/tree"
)

// boxProvider returns the Vagrant provider name of the box in a provider
// folder (providers.Provider.Box), false for a folder that is no provider's.
func boxProvider(folder string) (string, bool) {
	p, ok := providers.Lookup(folder)
	return p.Box, ok && p.Box != ""
}

// isDebugBox says whether a provider folder's box is a debug box (made by
// convert from a copy of the disk with the vagrant user added,
// providers.Provider.DebugBox). Each goes into a catalog of its own,
// <vm_name>-<folder>.json: a version of one catalog cannot hold two boxes of
// one Vagrant provider (Vagrant could not tell which to take), and the
// vm_name's catalog keeps the boxes of the images that are Vagrant images by
// design.
func isDebugBox(folder string) bool {
	p, ok := providers.Lookup(folder)
	return ok && p.Box != "" && p.DebugBox()
}

// BoxProviders returns the map from the provider folders that hold a Vagrant
// box to the Vagrant provider name of that box.
func BoxProviders() map[string]string {
	m := map[string]string{}
	for _, p := range providers.All {
		if box, ok := boxProvider(p.Name); ok {
			m[p.Name] = box
		}
	}
	return m
}

// DebugBoxFolders lists the provider folders whose box is a debug box, in a
// catalog of its own (CatalogName), sorted.
func DebugBoxFolders() []string {
	var out []string
	for _, p := range providers.All {
		if isDebugBox(p.Name) {
			out = append(out, p.Name)
		}
	}
	slices.Sort(out)
	return out
}

// CatalogName is the name of the catalog a provider folder's box goes into,
// without ".json": <vm_name>, or <vm_name>-<folder> for a debug box. The
// box's name in it is <namespace>/<CatalogName>.
func CatalogName(vmName, providerFolder string) string {
	if isDebugBox(providerFolder) {
		return vmName + "-" + providerFolder
	}
	return vmName
}

// Architecture is the architecture of every box (Vagrant 2.4 and later read
// it; older versions ignore it).
const Architecture = "amd64"

// Options says how catalogs are written.
type Options struct {
	// Namespace is the first part of the box name, <namespace>/<vm_name>
	// (config.Site.Namespace). Required.
	Namespace string
	// BaseURL, when set, makes box URLs BaseURL plus the box's path under
	// the artifacts folder (for a web server serving that folder); when
	// empty, URLs are file:// URLs of the boxes' absolute paths.
	BaseURL string
	// Description returns the description of a vm_name's catalog; nil
	// uses DefaultDescription.
	Description func(vmName string) string
}

// DefaultDescription is the catalog description used when Options has none.
func DefaultDescription(vmName string) string {
	return vmName + " gold standard image, built by gold-standard-images"
}

// Catalog is the Vagrant catalog (box metadata) of one vm_name.
type Catalog struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Versions    []Version `json:"versions"`

	vmName string
	file   string // CatalogName: the file is <file>.json
}

// Version is one version of a catalog.
type Version struct {
	Version   string     `json:"version"`
	Providers []Provider `json:"providers"`
}

// Provider is one box of a version.
type Provider struct {
	Name                string `json:"name"` // Vagrant provider: virtualbox, vmware_desktop, libvirt
	URL                 string `json:"url"`
	ChecksumType        string `json:"checksum_type"`
	Checksum            string `json:"checksum"`
	Architecture        string `json:"architecture"`
	DefaultArchitecture bool   `json:"default_architecture"`
}

// Result is the outcome for one vm_name.
type Result struct {
	VMName  string
	Path    string // the catalog file, root/<vm_name>.json (root/<vm_name>-<folder>.json for a debug box)
	Boxes   int    // boxes listed
	Written bool   // the file was created or its content changed
}

// BoxName is the file name of a provider folder's box:
// <vm_name>-<version>_<provider folder>.box.
func BoxName(vmName, version, providerFolder string) string {
	return tree.Build{Version: version, VMName: vmName}.ArtifactName(providerFolder, "box")
}

// Write writes root/<vm_name>.json for every vm_name under root (the
// artifacts folder) that has at least one box, and root/<vm_name>-<folder>.json
// for each debug box folder (CatalogName). The whole tree is checked
// first, and every problem is reported at once, each naming its path: a
// version folder that is not a version (see tree.Scan), a provider folder
// with no artifact, a box provider folder without its box, a box without
// metadata.json or made for another provider, a box changed since it was
// checksummed. On any problem no catalog is written. A box's digest comes
// from its folder's SHA256SUM when that is current, and is computed
// otherwise. A catalog whose content would not change is left as it is.
func Write(ctx context.Context, root string, opts Options) ([]Result, error) {
	catalogs, err := Build(ctx, root, opts)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, c := range catalogs {
		data, err := Marshal(c)
		if err != nil {
			return nil, err
		}
		path := tree.CatalogFile(root, c.file)
		vmName := c.vmName
		written, err := writeIfChanged(path, data)
		if err != nil {
			return out, err
		}
		boxes := 0
		for _, v := range c.Versions {
			boxes += len(v.Providers)
		}
		out = append(out, Result{VMName: vmName, Path: path, Boxes: boxes, Written: written})
	}
	return out, nil
}

// Build reads the tree under root and returns the catalog of every vm_name
// that has at least one box (and of every debug box folder: CatalogName),
// sorted by catalog name, without writing anything.
// See Write for the checks.
func Build(ctx context.Context, root string, opts Options) ([]Catalog, error) {
	if opts.Namespace == "" {
		return nil, errors.New("writing the Vagrant catalog: the namespace is empty: set \"namespace\" in templates/site.json")
	}
	if strings.Contains(opts.Namespace, "/") {
		return nil, fmt.Errorf("writing the Vagrant catalog: namespace %q: want a name without \"/\"", opts.Namespace)
	}
	if err := checkBaseURL(opts.BaseURL); err != nil {
		return nil, err
	}
	describe := opts.Description
	if describe == nil {
		describe = DefaultDescription
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("writing the Vagrant catalog: %w", err)
	}
	folders, err := tree.Scan(root)
	if err != nil {
		return nil, err
	}
	byVM := map[string]*Catalog{}
	var vmNames []string
	var problems []error
	for _, f := range folders {
		p, ok, err := folderBox(ctx, f, absRoot, root, opts.BaseURL)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if !ok {
			continue
		}
		file := CatalogName(f.VMName, f.Provider)
		c := byVM[file]
		if c == nil {
			c = &Catalog{Name: opts.Namespace + "/" + file, Description: describe(f.VMName), vmName: f.VMName, file: file}
			if file != f.VMName {
				c.Description += fmt.Sprintf("; debug box of the %s build: its disk with a vagrant user added (sudo without password), not the image that ships", f.Provider)
			}
			byVM[file] = c
			vmNames = append(vmNames, file)
		}
		if n := len(c.Versions); n == 0 || c.Versions[n-1].Version != f.Version {
			c.Versions = append(c.Versions, Version{Version: f.Version})
		}
		v := &c.Versions[len(c.Versions)-1]
		v.Providers = append(v.Providers, p)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	sort.Strings(vmNames)
	out := make([]Catalog, 0, len(vmNames))
	for _, name := range vmNames {
		c := byVM[name]
		// tree.Scan sorts versions as versions; providers by Vagrant name.
		for i := range c.Versions {
			ps := c.Versions[i].Providers
			sort.Slice(ps, func(a, b int) bool { return ps[a].Name < ps[b].Name })
		}
		out = append(out, *c)
	}
	return out, nil
}

// checkBaseURL checks Options.BaseURL (CATALOG_BASE_URL): empty, or an
// absolute URL that box paths can be appended to. Credentials in it would
// be published in clear in every catalog, and a query or fragment would
// stand before the box's path; errors show the URL with its password
// redacted.
func checkBaseURL(base string) error {
	if base == "" {
		return nil
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Scheme != "file") {
		return fmt.Errorf("writing the Vagrant catalog: base URL %q (CATALOG_BASE_URL): want an absolute URL such as https://boxes.example.com/artifacts", base)
	}
	var wrong string
	switch {
	case u.User != nil:
		wrong = "no user or password (the catalog is published: let the web server decide who may read it)"
	case u.RawQuery != "" || u.ForceQuery:
		wrong = "no query (?...): box paths are appended to it"
	case u.Fragment != "" || strings.HasSuffix(base, "#"):
		wrong = "no fragment (#...): box paths are appended to it"
	default:
		return nil
	}
	return fmt.Errorf("writing the Vagrant catalog: base URL %q (CATALOG_BASE_URL): want %s", redact.URL(base), wrong)
}

// folderBox checks one provider folder and, for a box provider, returns its
// catalog entry (ok false for folders that hold no box by design).
func folderBox(ctx context.Context, f tree.Folder, absRoot, root, baseURL string) (Provider, bool, error) {
	entries, err := os.ReadDir(f.Dir)
	if err != nil {
		return Provider{}, false, fmt.Errorf("writing the Vagrant catalog: reading %q: %w", f.Dir, err)
	}
	var names []string
	for _, e := range entries {
		if !tree.Hidden(e.Name()) && e.Name() != checksum.FileName {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return Provider{}, false, fmt.Errorf("writing the Vagrant catalog: %q: the folder has no artifact; build it again or remove it", f.Dir)
	}
	vagrantName, isBox := boxProvider(f.Provider)
	if !isBox {
		return Provider{}, false, nil
	}
	boxFile := f.Build().ArtifactName(f.Provider, "box")
	path := filepath.Join(f.Dir, boxFile)
	info, err := os.Lstat(path) // a link could lead outside the tree
	if errors.Is(err, os.ErrNotExist) && isDebugBox(f.Provider) {
		return Provider{}, false, nil // made only when asked for (artifacts:debugboxes)
	}
	if errors.Is(err, os.ErrNotExist) {
		return Provider{}, false, fmt.Errorf("writing the Vagrant catalog: %q: want the Vagrant box %q, found only %s; run VERSION=%s mage artifacts:convert %s", f.Dir, boxFile, strings.Join(names, ", "), f.Version, f.VMName)
	}
	if err != nil {
		return Provider{}, false, fmt.Errorf("writing the Vagrant catalog: %w", err)
	}
	if what := tree.NotRegular(info.Mode()); what != "" {
		return Provider{}, false, fmt.Errorf("writing the Vagrant catalog: %q: want a box file, found %s", path, what)
	}
	if err := checkMetadata(path, vagrantName); err != nil {
		return Provider{}, false, fmt.Errorf("writing the Vagrant catalog: %w", err)
	}
	sum, err := boxSum(ctx, f.Dir, boxFile)
	if err != nil {
		return Provider{}, false, fmt.Errorf("writing the Vagrant catalog: %w", err)
	}
	return Provider{
		Name:                vagrantName,
		URL:                 boxURL(absRoot, f, boxFile, baseURL),
		ChecksumType:        "sha256",
		Checksum:            sum,
		Architecture:        Architecture,
		DefaultArchitecture: true,
	}, true, nil
}

// boxURL is the URL of a box: baseURL plus its path under the artifacts
// folder, or a file:// URL of its absolute path.
func boxURL(absRoot string, f tree.Folder, boxFile, baseURL string) string {
	parts := []string{f.Version, f.VMName, f.Provider, boxFile}
	if baseURL != "" {
		esc := make([]string, len(parts))
		for i, p := range parts {
			esc[i] = url.PathEscape(p)
		}
		return strings.TrimRight(baseURL, "/") + "/" + strings.Join(esc, "/")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(append([]string{absRoot}, parts...)...))}
	return u.String()
}

// boxSum returns the box's SHA-256 from the folder's SHA256SUM when that is
// current, and hashes the box otherwise; a box that changed since it was
// checksummed or written (checksum.CheckChange) is an error naming it.
func boxSum(ctx context.Context, dir, boxFile string) (string, error) {
	entries, current, err := checksum.ReadFolder(dir)
	listed := ""
	for _, e := range entries {
		if err == nil && e.Name == boxFile {
			if current {
				return e.SHA256, nil
			}
			listed = e.SHA256
		}
	}
	path := filepath.Join(dir, boxFile)
	sum, err := hashfile.File(ctx, path)
	if err != nil {
		return "", err
	}
	if err := checksum.CheckChange(path, listed, sum); err != nil {
		return "", err
	}
	return sum, nil
}

// checkMetadata reads the box's metadata.json (the box is a tar archive,
// gzip-compressed or not) and checks that it names the provider want.
func checkMetadata(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading the box %q: %w", path, err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		z, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("reading the box %q: %w", path, err)
		}
		defer z.Close()
		r = z
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return fmt.Errorf("reading the box %q: it has no metadata.json; a Vagrant box is a tar archive with metadata.json at its top", path)
		}
		if err != nil {
			return fmt.Errorf("reading the box %q: want a tar archive (gzip-compressed or not): %w", path, err)
		}
		if strings.TrimPrefix(h.Name, "./") != "metadata.json" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return fmt.Errorf("reading the box %q: metadata.json: %w", path, err)
		}
		var meta struct {
			Provider string `json:"provider"`
		}
		if err := json.Unmarshal(data, &meta); err != nil {
			return fmt.Errorf("reading the box %q: metadata.json: %w", path, err)
		}
		if meta.Provider != want {
			return fmt.Errorf("reading the box %q: metadata.json: field \"provider\": want %q, got %q", path, want, meta.Provider)
		}
		return nil
	}
}

// Marshal renders a catalog as indented JSON with a final newline.
func Marshal(c Catalog) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encoding the catalog of %q: %w", c.Name, err)
	}
	return b.Bytes(), nil
}

// writeIfChanged writes data to path atomically unless path already holds
// exactly data.
func writeIfChanged(path string, data []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return false, err
	}
	return true, nil
}
