// Package kscontainer builds the kickstart server's container image with
// go-containerregistry (a static ksserver binary and the kickstart files on
// no base image, no Dockerfile) and runs it as a long-lived container in the
// local engine (docker or podman) for bare-metal installs.
package kscontainer

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/kickstart"
	"gold-standard-images/internal/run"
)

// Image facts the engine and the tests rely on.
const (
	Ref        = "localhost/gold-standard-images/ks:latest"
	Port       = "8080/tcp"
	ServerPath = "/ksserver"
	DataRoot   = "/srv"
)

// Labels are the image's OCI labels.
var Labels = map[string]string{
	"org.opencontainers.image.title":       "gold-standard-images kickstart server",
	"org.opencontainers.image.description": "Serves /ks and /ks.php kickstarts for bare-metal installs",
	"org.opencontainers.image.vendor":      "gold-standard-images",
}

// BuildServer compiles cmd/ksserver below root as a static binary
// (CGO_ENABLED=0) to out.
func BuildServer(ctx context.Context, root, out string) error {
	err := run.Run(ctx, run.Cmd{
		Name: "go", Args: []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd/ksserver"},
		Dir: root, Env: []string{"CGO_ENABLED=0", "GOOS=linux"},
		Timeout: 15 * time.Minute, Hint: "the go command stalled (a module download?)",
	})
	if err != nil {
		return fmt.Errorf("building the kickstart server binary: %w", err)
	}
	return nil
}

// Image assembles the image: the server binary at /ksserver and, below
// /srv, http/builds, http/templates, keys/packer.pub and targets.json (the
// OS targets with their root password hashes; never a plain password or a
// private key). It runs as nobody and exposes 8080/tcp.
func Image(binary, root string, targets []kickstart.Target) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dirs := map[string]bool{}
	addDir := func(p string) error {
		var parents []string
		for d := p; d != "." && d != "/" && !dirs[d]; d = path.Dir(d) {
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			dirs[parents[i]] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: parents[i] + "/", Mode: 0o755, ModTime: epoch}); err != nil {
				return err
			}
		}
		return nil
	}
	addFile := func(name string, data []byte, mode int64) error {
		if err := addDir(path.Dir(name)); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("building the kickstart image: %w", err)
	}
	if err := addFile(ServerPath[1:], bin, 0o755); err != nil {
		return nil, err
	}
	files, err := dataFiles(root)
	if err != nil {
		return nil, err
	}
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("building the kickstart image: %w", err)
		}
		if err := addFile(path.Join(DataRoot[1:], rel), data, 0o644); err != nil {
			return nil, err
		}
	}
	tj, err := kickstart.MarshalTargets(targets)
	if err != nil {
		return nil, err
	}
	if err := addFile(path.Join(DataRoot[1:], "targets.json"), tj, 0o644); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerData := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerData)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("building the kickstart image layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{ServerPath, "-root", DataRoot, "-addr", ":8080"}
	cf.Config.ExposedPorts = map[string]struct{}{Port: {}}
	cf.Config.Labels = Labels
	cf.Config.User = "65534:65534"
	cf.Config.WorkingDir = DataRoot
	return mutate.ConfigFile(img, cf)
}

// dataFiles lists, relative to root, the files the server reads.
func dataFiles(root string) ([]string, error) {
	var files []string
	for _, dir := range []string{kickstart.BuildsDir, kickstart.TemplatesDir} {
		err := filepath.WalkDir(filepath.Join(root, filepath.FromSlash(dir)), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("building the kickstart image: %w", err)
		}
	}
	sort.Strings(files)
	return append(files, kickstart.KeyFile), nil
}

// WriteTarball writes img, tagged Ref, as a docker-load tarball at path
// (mode 0600: it holds the root password hashes), whole or not at all.
func WriteTarball(img v1.Image, path string) error {
	tag, err := name.NewTag(Ref)
	if err != nil {
		return err
	}
	f, err := atomicfile.Create(path, 0o600)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := tarball.Write(tag, img, f); err != nil {
		return fmt.Errorf("writing the kickstart image %q: %w", path, err)
	}
	return f.Commit()
}
