package sbom

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"gold-standard-images/internal/ctxio"
	"gold-standard-images/internal/tree"
)

// FindDisk is the disk image in a provider's Packer output folder: the
// largest file whose name says it is a disk (.qcow2, .vmdk, .vdi, .raw,
// .img, and .ova, whose first .vmdk is read). A link (or special file)
// with such a name is refused, naming it. The templates give the qemu
// builds' vm_name a .qcow2 extension for this; a name without one (such as
// <vm_name>-1.0.0_gcp, whose extension would be ".0_gcp") is not found.
func FindDisk(dir string) (string, error) {
	var best string
	var bestSize int64 = -1
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || tree.Hidden(d.Name()) {
			return err
		}
		isDisk := diskFormat(path) != "" || filepath.Ext(path) == ".ova"
		if what := tree.Irregular(d.Type()); what != "" {
			if isDisk {
				return fmt.Errorf("%q is %s, not a regular file: refused (a link could lead anywhere)", path, what)
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if isDisk && info.Size() > bestSize {
			best, bestSize = path, info.Size()
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("finding the disk image in %q: %w", dir, err)
	}
	if best == "" {
		return "", fmt.Errorf("finding the disk image in %q: no .qcow2, .vmdk, .vdi, .raw, .img or .ova file", dir)
	}
	return best, nil
}

// WriteForDisk writes the SBOM of disk to path, created at the disk's
// modification time (so an unchanged disk gives the same file), unless
// path is already newer than the disk. It says whether it wrote.
func WriteForDisk(ctx context.Context, disk, path string, s Subject, o Options) (bool, error) {
	di, err := os.Stat(disk)
	if err != nil {
		return false, fmt.Errorf("reading the packages of %q: %w", disk, err)
	}
	if si, err := os.Stat(path); err == nil && si.ModTime().After(di.ModTime()) {
		if _, err := ReadFile(path); err == nil {
			return false, nil
		}
	}
	read := disk
	if filepath.Ext(disk) == ".ova" {
		tmp, err := os.MkdirTemp(filepath.Dir(path), ".sbom-ova-")
		if err != nil {
			return false, fmt.Errorf("reading the packages of %q: %w", disk, err)
		}
		defer os.RemoveAll(tmp)
		if read, err = extractVMDK(ctx, disk, tmp); err != nil {
			return false, err
		}
	}
	inv, err := Read(ctx, read, o)
	if err != nil && read != disk {
		return false, fmt.Errorf("reading the disk of the OVA %q: %w", disk, err)
	}
	if err != nil {
		return false, err
	}
	if _, err := WriteFile(path, Document(s, inv, di.ModTime())); err != nil {
		return false, err
	}
	return true, nil
}

// extractVMDK copies the first .vmdk of the OVA (a tar) at ova into dir.
func extractVMDK(ctx context.Context, ova, dir string) (string, error) {
	f, err := os.Open(ova)
	if err != nil {
		return "", fmt.Errorf("reading the OVA %q: %w", ova, err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("reading the OVA %q: no .vmdk in it", ova)
		}
		if err != nil {
			return "", fmt.Errorf("reading the OVA %q: %w", ova, err)
		}
		if h.Typeflag != tar.TypeReg || filepath.Ext(h.Name) != ".vmdk" {
			continue
		}
		out := filepath.Join(dir, "disk.vmdk")
		w, err := os.Create(out)
		if err != nil {
			return "", fmt.Errorf("reading the OVA %q: %w", ova, err)
		}
		_, err = io.Copy(w, ctxio.Reader(ctx, tr))
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("reading the OVA %q: %s: %w", ova, h.Name, err)
		}
		return out, nil
	}
}
