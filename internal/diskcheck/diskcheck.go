// Package diskcheck reads what a disk image is before anything opens it:
// its format and every other file it refers to (`qemu-img info
// --output=json`, which opens no backing file). A disk with a backing file,
// an external data file, extents outside its own folder, or another format
// than expected is refused, naming the file: QEMU, qemu-img and libguestfs
// would read the referenced file, which can be any file of this host, into
// the images we ship.
package diskcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gold-standard-images/internal/run"
	"gold-standard-images/internal/tree"
)

// Disk is a disk image that passed the check.
type Disk struct {
	Path        string
	Format      string // qemu-img's name: qcow2, raw, vpc, vmdk...
	VirtualSize int64  // bytes the guest sees
}

// Options tune Check; the zero value is fine.
type Options struct {
	// Output receives qemu-img's messages (a log); nil discards them.
	Output io.Writer
	// Log names that log, for a timeout's error.
	Log string
}

// Bound is how long qemu-img info may take: it reads a few headers.
var Bound = 2 * time.Minute

// Check refuses path unless it is a regular file (not a link) that
// qemu-img reads as format and that refers to no other file: no backing
// file, no external data file (qcow2), no extent outside its own folder
// (vmdk: a split VMDK's extents sit beside it). Its error names the file
// and what it refers to.
func Check(ctx context.Context, path, format string, o Options) (Disk, error) {
	fail := func(f string, args ...any) (Disk, error) {
		return Disk{}, fmt.Errorf("checking the disk image %q: "+f, append([]any{path}, args...)...)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fail("%w", err)
	}
	if err := regular(abs); err != nil {
		return fail("%w", err)
	}
	// With -f: the references qemu-img lists are those QEMU follows when
	// it opens the file as format, as everything of ours does. A file of
	// another format fails to open, but as raw anything opens: a raw disk
	// is also probed, so that a qcow2 (whose header a guest could have
	// written) is refused rather than taken for raw.
	info, err := qemuInfo(ctx, abs, format, o)
	if err != nil {
		return fail("%w", err)
	}
	if backing := firstOf(info.FullBacking, info.BackingFilename); backing != "" {
		return fail("it has the backing file %q: a disk we open or ship must stand alone (qemu-img convert -O %s makes one)", backing, info.Format)
	}
	if format == "raw" {
		probed, err := qemuInfo(ctx, abs, "", o)
		if err != nil {
			return fail("%w", err)
		}
		if probed.Format != "raw" {
			return fail("want a raw image, qemu-img reads it as %s", probed.Format)
		}
	}
	if info.Specific.Data.DataFile != "" {
		return fail("its data is in another file, %q (a qcow2 data_file): a disk we open or ship must stand alone", info.Specific.Data.DataFile)
	}
	for _, e := range info.Specific.Data.Extents {
		if err := besideIt(abs, e.Filename); err != nil {
			return fail("%w", err)
		}
	}
	if info.VirtualSize <= 0 {
		return fail("qemu-img info gave no virtual size")
	}
	return Disk{Path: path, Format: format, VirtualSize: info.VirtualSize}, nil
}

// info is what Check reads of `qemu-img info --output=json`.
type info struct {
	Format          string `json:"format"`
	VirtualSize     int64  `json:"virtual-size"`
	BackingFilename string `json:"backing-filename"`
	FullBacking     string `json:"full-backing-filename"`
	Specific        struct {
		Data struct {
			DataFile string `json:"data-file"`
			Extents  []struct {
				Filename string `json:"filename"`
			} `json:"extents"`
		} `json:"data"`
	} `json:"format-specific"`
}

// qemuInfo runs qemu-img info on path (absolute, so never taken for a
// protocol such as "nbd:" or "json:"), as format, or probed when format
// is empty.
func qemuInfo(ctx context.Context, path, format string, o Options) (info, error) {
	args := []string{"info", "--output=json"}
	if format != "" {
		args = append(args, "-f", format)
	}
	out, err := run.Output(ctx, run.Cmd{Name: "qemu-img", Args: append(args, path), Output: o.Output,
		Timeout: Bound, Log: o.Log, Hint: "a stalled disk, or an image locked by a running QEMU"})
	var i info
	if err != nil {
		return i, err
	}
	if err := json.Unmarshal(out, &i); err != nil {
		return i, fmt.Errorf("reading qemu-img info: %w", err)
	}
	return i, nil
}

// regular refuses anything but a regular file: a link could lead anywhere.
func regular(path string) error {
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if what := tree.NotRegular(st.Mode()); what != "" {
		return fmt.Errorf("%s, not a regular file", what)
	}
	return nil
}

// besideIt refuses a VMDK extent that is not the disk itself or a regular
// file in the disk's own folder.
func besideIt(disk, extent string) error {
	p := extent
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(disk), p)
	}
	p = filepath.Clean(p)
	if p == disk {
		return nil
	}
	if filepath.Dir(p) != filepath.Dir(disk) {
		return fmt.Errorf("its extent %q lies outside its folder: a disk we open or ship must stand alone", extent)
	}
	if err := regular(p); err != nil {
		return fmt.Errorf("its extent %q: %w", extent, err)
	}
	return nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
