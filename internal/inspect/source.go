package inspect

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/sparse"
)

// Source is the file of an artifact the inspector opens, and how.
type Source struct {
	Path string
	// Format is a disk format libguestfs reads (qcow2, vpc, vmdk, raw), or
	// OVA (the first disk in it, extracted), GCPTarball (disk.raw,
	// extracted sparse) or Rootfs (a rootfs tarball, read in Go).
	Format string
}

// The Source formats that are not disk formats.
const (
	OVA        = "ova"
	GCPTarball = "gcp-tar.gz"
	Rootfs     = "rootfs-tar.gz"
)

// sourceFormats are the Source formats of the artifacts each way of making
// them writes (providers.Make); asBuiltFormats those of a Packer output
// taken as built, by its extension.
var (
	sourceFormats = map[providers.Make]string{
		providers.FixedVHD:      "vpc",
		providers.GCPTarball:    GCPTarball,
		providers.RootfsTarball: Rootfs,
		providers.VMwareOVA:     OVA,
	}
	asBuiltFormats = map[string]string{"ova": OVA, "qcow2": "qcow2"}
)

// SourceOf is the artifact of provider in its artifact folder dir, whose
// files are named stem.<ext>: the file that ships (the row's Artifact),
// opened as it ships where libguestfs reads it (azure's VHD, openstack's
// qcow2), or with its disk extracted to a temporary file beside it (the
// OVAs' stream-optimized VMDK, a copy of compressed data; GCP's disk.raw,
// written sparse, the time of its data). A missing artifact is
// fs.ErrNotExist.
func SourceOf(provider, dir, stem string) (Source, error) {
	p, ok := providers.Lookup(provider)
	format := sourceFormats[p.Make]
	if p.Make == providers.AsBuilt {
		format = asBuiltFormats[p.Artifact]
	}
	if !ok || format == "" {
		return Source{}, fmt.Errorf("choosing the artifact to inspect: no rule for provider %q", provider)
	}
	s := Source{filepath.Join(dir, stem+"."+p.Artifact), format}
	if _, err := os.Stat(s.Path); err != nil {
		return s, err
	}
	return s, nil
}

// disk returns the disk libguestfs opens, extracting it into tmp when the
// artifact packs it.
func (s Source) disk(ctx context.Context, tmp string) (string, string, error) {
	switch s.Format {
	case OVA:
		return extractMember(ctx, s.Path, tmp, func(name string) bool { return strings.HasSuffix(name, ".vmdk") }, "vmdk")
	case GCPTarball:
		return extractMember(ctx, s.Path, tmp, func(name string) bool { return name == "disk.raw" }, "raw")
	}
	return s.Path, s.Format, nil
}

// extractMember writes the first member of the tar (gzip or not) at file
// that match wants to tmp, skipping runs of zeros (a sparse file).
func extractMember(ctx context.Context, file, tmp string, wants func(string) bool, format string) (string, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", "", fmt.Errorf("reading %q: %w", file, err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(file, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return "", "", fmt.Errorf("reading %q: %w", file, err)
		}
		r = z
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", "", fmt.Errorf("reading %q: no disk in it: %w", file, fs.ErrNotExist)
		}
		if err != nil {
			return "", "", fmt.Errorf("reading %q: %w", file, err)
		}
		if !wants(filepath.Base(h.Name)) {
			continue
		}
		out := filepath.Join(tmp, filepath.Base(h.Name))
		if err := writeSparse(ctx, out, tr, h.Size); err != nil {
			return "", "", fmt.Errorf("extracting %s from %q: %w", h.Name, file, err)
		}
		return out, format, nil
	}
}

// writeSparse copies r (size bytes) to a new file at path, seeking over
// blocks of zeros.
func writeSparse(ctx context.Context, path string, r io.Reader, size int64) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := sparse.Write(ctx, out, r, size); err != nil {
		return err
	}
	return out.Close()
}
