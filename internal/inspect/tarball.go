package inspect

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
)

// osRelease are where a root file system names its distribution.
var osRelease = []string{"/etc/os-release", "/usr/lib/os-release"}

// readTarball reads a rootfs tarball (docker's artifact) in one pass: every
// path, and the content of the files the rules may read (those of every
// family, since the family is known only from os-release, read in the same
// pass). Symbolic links to files are followed once.
func readTarball(file string, rules []Rule, pick func(family string) []Rule) (*Image, []Rule, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the rootfs tarball %q: %w", file, err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the rootfs tarball %q: %w", file, err)
	}
	n := needsOf(rules)
	want := append(slices.Clone(n.files), osRelease...)
	im := &Image{Files: map[string]string{}, Rootfs: true}
	links := map[string]string{}
	tr := tar.NewReader(z)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading the rootfs tarball %q: %w", file, err)
		}
		p := path.Clean("/" + h.Name)
		if p == "/" {
			continue
		}
		im.Paths = append(im.Paths, p)
		read := slices.Contains(want, p)
		if ok, _ := path.Match(sshdDropins, p); ok && n.sshd {
			read = true
		}
		if ok, _ := path.Match(sudoersDropins, p); ok && n.sudoers || n.keyFiles && isKeysFile(p) {
			read = true
		}
		switch {
		case !read:
		case h.Typeflag == tar.TypeSymlink:
			links[p] = h.Linkname
		case h.Typeflag == tar.TypeReg && h.Size <= 1<<20:
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, nil, fmt.Errorf("reading %s in the rootfs tarball %q: %w", p, file, err)
			}
			im.Files[p] = string(data)
		}
	}
	for p, target := range links {
		if !strings.HasPrefix(target, "/") {
			target = path.Join(path.Dir(p), target)
		}
		if data, ok := im.Files[path.Clean(target)]; ok {
			im.Files[p] = data
		}
	}
	for _, r := range osRelease {
		for _, l := range strings.Split(im.Files[r], "\n") {
			if v, ok := strings.CutPrefix(l, "ID="); ok && im.Distro == "" {
				im.Distro = strings.Trim(v, `"'`)
			}
		}
	}
	im.Family = Family(im.Distro)
	return im, pick(im.Family), nil
}
