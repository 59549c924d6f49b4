package diskcheck

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gold-standard-images/internal/diskcheck/disktest"
)

func TestADiskThatRefersToAnotherFileOrIsNotWhatWasExpectedIsRefusedNamingBoth(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Fatalf("this test needs qemu-img (apt-get install qemu-utils): %v", err)
	}
	for _, tc := range []struct {
		name   string
		format string
		make   func(t *testing.T, dir, disk string)
		want   []string // in the error; none: the disk passes
	}{
		{"a qcow2 standing alone passes", "qcow2", func(t *testing.T, dir, disk string) {
			disktest.QemuImg(t, "create", "-q", "-f", "qcow2", disk, "16M")
		}, nil},
		{"a qcow2 whose backing file is a host file", "qcow2", func(t *testing.T, dir, disk string) {
			disktest.BackedQcow2(t, disk)
		}, []string{"disk.img", "backing file", "host-secret"}},
		{"a qcow2 whose backing file is missing", "qcow2", func(t *testing.T, dir, disk string) {
			disktest.QemuImg(t, "create", "-q", "-f", "qcow2", "-u", "-b", "/nowhere/base.qcow2", "-F", "qcow2", disk, "16M")
		}, []string{"disk.img", "backing file", "/nowhere/base.qcow2"}},
		{"a qcow2 whose data is in a host file", "qcow2", func(t *testing.T, dir, disk string) {
			disktest.QemuImg(t, "create", "-q", "-f", "qcow2", "-o", "data_file="+disktest.HostFile(t), disk, "768K")
		}, []string{"disk.img", "data", "host-secret"}},
		{"a VMDK whose extent is a host file", "vmdk", func(t *testing.T, dir, disk string) {
			disktest.FlatVMDK(t, disk)
		}, []string{"disk.img", "extent", "host-secret"}},
		{"a split VMDK with its extents beside it passes", "vmdk", func(t *testing.T, dir, disk string) {
			disktest.QemuImg(t, "create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", disk, "3G")
		}, nil},
		{"a stream-optimized VMDK passes", "vmdk", func(t *testing.T, dir, disk string) {
			disktest.QemuImg(t, "create", "-q", "-f", "vmdk", "-o", "subformat=streamOptimized", disk, "16M")
		}, nil},
		{"a fixed VHD passes", "vpc", func(t *testing.T, dir, disk string) {
			disktest.QemuImg(t, "create", "-q", "-f", "vpc", "-o", "subformat=fixed,force_size", disk, "16M")
		}, nil},
		{"a raw disk passes", "raw", func(t *testing.T, dir, disk string) {
			if err := os.WriteFile(disk, make([]byte, 1<<20), 0o644); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"a qcow2 where raw is expected", "raw", func(t *testing.T, dir, disk string) {
			disktest.QemuImg(t, "create", "-q", "-f", "qcow2", disk, "16M")
		}, []string{"disk.img", "want a raw image", "qcow2"}},
		{"a raw disk where qcow2 is expected", "qcow2", func(t *testing.T, dir, disk string) {
			if err := os.WriteFile(disk, make([]byte, 1<<20), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"disk.img", "not in qcow2 format"}},
		{"a link to a disk", "qcow2", func(t *testing.T, dir, disk string) {
			disktest.QemuImg(t, "create", "-q", "-f", "qcow2", filepath.Join(dir, "real.qcow2"), "16M")
			if err := os.Symlink(filepath.Join(dir, "real.qcow2"), disk); err != nil {
				t.Fatal(err)
			}
		}, []string{"disk.img", "not a regular file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			disk := filepath.Join(dir, "disk.img")
			tc.make(t, dir, disk)
			d, err := Check(context.Background(), disk, tc.format, Options{})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if d.Format != tc.format || d.VirtualSize <= 0 {
					t.Errorf("got %+v, want format %s and a virtual size", d, tc.format)
				}
				return
			}
			if err == nil {
				t.Fatalf("passed (%+v), want it refused", d)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}
