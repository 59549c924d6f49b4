package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdxlib"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/tree"
)

// FileName is the SBOM's name in each provider folder, beside
// manifest.json.
const FileName = "sbom.spdx.json"

// Subject names the image an SBOM describes.
type Subject struct {
	VMName   string // e.g. "CentOS-7.9.2009"
	Version  string // the image's version
	Provider string // the provider folder
}

// Element IDs: the image, each package, each kernel.
const (
	imageID        = "Image"
	packageIDStem  = "Package-"
	kernelIDStem   = "Kernel-"
	namespaceStart = "https://gold-standard-images.invalid/spdx/"
	toolCreator    = "gold-standard-images"
)

// Document is inv as an SPDX 2.3 document about s, created at created. The
// image is the described package; it CONTAINS every installed package and
// each kernel (a package named "linux" whose version is its /lib/modules
// folder). The namespace is derived from the subject and the content, so
// the same image gives the same document apart from created.
func Document(s Subject, inv Inventory, created time.Time) *spdx.Document {
	content := sha256.New()
	fmt.Fprintf(content, "%s\n%s\n%s\n", inv.Distro, inv.Format, strings.Join(inv.Kernels, " "))
	for _, p := range inv.Packages {
		fmt.Fprintf(content, "%s %s %s\n", p.Name, p.Version, p.Arch)
	}
	ns := namespaceStart + url.PathEscape(s.VMName) + "/" + url.PathEscape(s.Version) + "/" + url.PathEscape(s.Provider) + "-" + hex.EncodeToString(content.Sum(nil))[:16]

	image := &spdx.Package{
		PackageName:             s.VMName,
		PackageSPDXIdentifier:   imageID,
		PackageVersion:          s.Version,
		PackageFileName:         s.Provider,
		PackageDownloadLocation: "NOASSERTION",
		PrimaryPackagePurpose:   "OPERATING-SYSTEM",
		PackageComment:          fmt.Sprintf("%s image for %s; distribution %s (%s), %s packages", s.VMName, s.Provider, inv.Distro, inv.Product, inv.Format),
	}
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      fmt.Sprintf("%s-%s_%s", s.VMName, s.Version, s.Provider),
		DocumentNamespace: ns,
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: toolCreator}},
			Created:  created.UTC().Format(time.RFC3339),
		},
		Packages: []*spdx.Package{image},
		Relationships: []*spdx.Relationship{{
			RefA:         common.MakeDocElementID("", "DOCUMENT"),
			RefB:         common.MakeDocElementID("", imageID),
			Relationship: "DESCRIBES",
		}},
	}
	add := func(p *spdx.Package) {
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA:         common.MakeDocElementID("", imageID),
			RefB:         common.MakeDocElementID("", string(p.PackageSPDXIdentifier)),
			Relationship: "CONTAINS",
		})
	}
	for i, k := range inv.Kernels {
		add(&spdx.Package{
			PackageName:             "linux",
			PackageSPDXIdentifier:   common.ElementID(fmt.Sprintf("%s%d", kernelIDStem, i+1)),
			PackageVersion:          k,
			PackageDownloadLocation: "NOASSERTION",
			PrimaryPackagePurpose:   "OPERATING-SYSTEM",
			PackageComment:          "kernel: /lib/modules/" + k,
		})
	}
	for i, p := range inv.Packages {
		pkg := &spdx.Package{
			PackageName:             p.Name,
			PackageSPDXIdentifier:   common.ElementID(fmt.Sprintf("%s%d", packageIDStem, i+1)),
			PackageVersion:          p.Version,
			PackageDownloadLocation: "NOASSERTION",
		}
		if purl := packageURL(inv, p); purl != "" {
			pkg.PackageExternalReferences = []*spdx.PackageExternalReference{{Category: "PACKAGE-MANAGER", RefType: "purl", Locator: purl}}
		}
		add(pkg)
	}
	return doc
}

// packageURL is p's purl (pkg:deb/debian/adduser@3.134?arch=all), or ""
// for a package format purl has no type for.
func packageURL(inv Inventory, p Package) string {
	typ := map[string]string{"deb": "deb", "rpm": "rpm"}[inv.Format]
	if typ == "" {
		return ""
	}
	u := fmt.Sprintf("pkg:%s/%s/%s@%s", typ, url.PathEscape(strings.ToLower(inv.Distro)), url.PathEscape(p.Name), url.PathEscape(p.Version))
	if p.Arch != "" {
		u += "?arch=" + url.QueryEscape(p.Arch)
	}
	return u
}

// Marshal is doc as indented JSON.
func Marshal(doc *spdx.Document) ([]byte, error) {
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return nil, fmt.Errorf("writing the SBOM %q: %w", doc.DocumentName, err)
	}
	return buf.Bytes(), nil
}

// WriteFile writes doc to path atomically; it returns the file's sha256.
func WriteFile(path string, doc *spdx.Document) (string, error) {
	data, err := Marshal(doc)
	if err != nil {
		return "", err
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("writing the SBOM %q: %w", path, err)
	}
	digest := sha256.Sum256(data)
	sum := hex.EncodeToString(digest[:])
	// Recorded as made by the build, so that SHA256SUM takes the new
	// document's digest (a FORCE=1 rebuild) instead of refusing it as changed.
	if err := tree.WriteMade(path, sum); err != nil {
		return "", err
	}
	return sum, nil
}

// Parse reads an SPDX JSON document with the library's reader and checks
// it (Validate).
func Parse(r io.Reader) (*spdx.Document, error) {
	doc, err := spdxjson.Read(r)
	if err != nil {
		return nil, err
	}
	return doc, Validate(doc)
}

var elementIDRe = regexp.MustCompile(`^[A-Za-z0-9.-]+$`)

// Validate checks what SPDX 2.3 requires of doc: version, data license,
// document ID, name, namespace (an absolute URI), creators and creation
// time, each package's name, ID (unique, letters, digits, . and -) and
// download location, and (spdxlib.ValidateDocument) that every
// relationship names elements of the document. Every problem is reported.
func Validate(doc *spdx.Document) error {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if doc.SPDXVersion != "SPDX-2.3" {
		bad("spdxVersion: want SPDX-2.3, got %q", doc.SPDXVersion)
	}
	if doc.DataLicense != "CC0-1.0" {
		bad("dataLicense: want CC0-1.0, got %q", doc.DataLicense)
	}
	if doc.SPDXIdentifier != "DOCUMENT" {
		bad("SPDXID: want SPDXRef-DOCUMENT, got %q", doc.SPDXIdentifier)
	}
	if doc.DocumentName == "" {
		bad("name: empty")
	}
	if u, err := url.Parse(doc.DocumentNamespace); err != nil || !u.IsAbs() || strings.Contains(doc.DocumentNamespace, "#") {
		bad("documentNamespace: want an absolute URI without #, got %q", doc.DocumentNamespace)
	}
	if doc.CreationInfo == nil || len(doc.CreationInfo.Creators) == 0 {
		bad("creationInfo.creators: empty")
	}
	if doc.CreationInfo != nil {
		if _, err := time.Parse(time.RFC3339, doc.CreationInfo.Created); err != nil {
			bad("creationInfo.created: want YYYY-MM-DDThh:mm:ssZ, got %q", doc.CreationInfo.Created)
		}
	}
	seen := map[common.ElementID]bool{}
	for i, p := range doc.Packages {
		id := p.PackageSPDXIdentifier
		switch {
		case !elementIDRe.MatchString(string(id)):
			bad("packages[%d]: SPDXID %q: want letters, digits, . and -", i, id)
		case seen[id]:
			bad("packages[%d]: SPDXID %q used twice", i, id)
		}
		seen[id] = true
		if p.PackageName == "" {
			bad("packages[%d] (%s): name empty", i, id)
		}
		if p.PackageDownloadLocation == "" {
			bad("packages[%d] (%s): downloadLocation empty", i, id)
		}
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		bad("relationships: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("validating SPDX document %q: %w", doc.DocumentName, errors.Join(problems...))
	}
	return nil
}

// ReadFile reads the SBOM at path back into an inventory: the packages
// and kernels the image CONTAINS (Document's layout).
func ReadFile(path string) (Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		return Inventory{}, fmt.Errorf("reading the SBOM %q: %w", path, err)
	}
	defer f.Close()
	doc, err := Parse(f)
	if err != nil {
		return Inventory{}, fmt.Errorf("reading the SBOM %q: %w", path, err)
	}
	return FromDocument(doc), nil
}

// FromDocument is the inventory a Document holds.
func FromDocument(doc *spdx.Document) Inventory {
	inv := Inventory{Kernels: []string{}, Packages: []Package{}}
	for _, p := range doc.Packages {
		id := string(p.PackageSPDXIdentifier)
		switch {
		case strings.HasPrefix(id, kernelIDStem):
			inv.Kernels = append(inv.Kernels, p.PackageVersion)
		case strings.HasPrefix(id, packageIDStem):
			pkg := Package{Name: p.PackageName, Version: p.PackageVersion}
			for _, r := range p.PackageExternalReferences {
				if r.RefType == "purl" {
					typ, distro, arch := purlParts(r.Locator)
					inv.Format, inv.Distro, pkg.Arch = typ, distro, arch
				}
			}
			inv.Packages = append(inv.Packages, pkg)
		}
	}
	sort.Strings(inv.Kernels)
	sort.Slice(inv.Packages, func(i, j int) bool {
		a, b := inv.Packages[i], inv.Packages[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Arch < b.Arch
	})
	return inv
}

// purlParts reads type, namespace and arch back from a purl Document wrote.
func purlParts(purl string) (typ, distro, arch string) {
	rest, ok := strings.CutPrefix(purl, "pkg:")
	if !ok {
		return "", "", ""
	}
	rest, query, _ := strings.Cut(rest, "?")
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) == 3 {
		typ, distro = parts[0], parts[1]
	}
	if q, err := url.ParseQuery(query); err == nil {
		arch = q.Get("arch")
	}
	return typ, distro, arch
}
