package scripts_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// smallFS mounts a fresh small file system, "ext4" (16 MiB, a loop device
// over a file) or "tmpfs" (8 MiB), and returns its mount point and, for
// ext4, the file behind it; it is unmounted when the test ends.
func smallFS(t *testing.T, kind string) (mnt, image string) {
	t.Helper()
	if os.Getuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test mounts a file system and needs root")
		}
		t.Skip("needs root to mount a file system")
	}
	dir := t.TempDir()
	image = filepath.Join(dir, "small.img")
	mnt = filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(image, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(image, 16<<20); err != nil {
		t.Fatal(err)
	}
	cmds := [][]string{{"mkfs.ext4", "-q", "-F", image}, {"mount", "-o", "loop", image, mnt}}
	if kind == "tmpfs" {
		cmds, image = [][]string{{"mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt}}, ""
	}
	for _, args := range cmds {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", mnt, err, out)
		}
	})
	return mnt, image
}

// TestZeroSucceedsOnASmallFileSystemThatHoldsItsTMPDIR fills a real file
// system that also holds TMPDIR, as a guest's root holds /tmp: once it is
// full, no file can take dd's "No space left on device".
func TestZeroSucceedsOnASmallFileSystemThatHoldsItsTMPDIR(t *testing.T) {
	mnt, _ := smallFS(t, "tmpfs")
	tmp := filepath.Join(mnt, "tmp")
	if err := os.Mkdir(tmp, 0o1777); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "zero.sh", mnt)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zero.sh on a full file system: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), ">> zero: free space of "+mnt) {
		t.Errorf("zero.sh did not report its work:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(mnt, ".zero.fill")); !os.IsNotExist(err) {
		t.Errorf("the fill file is still there (%v)", err)
	}
}

// TestZeroWipesDeletedDataFromASmallExt4 checks on the disk image itself
// that data deleted before zero.sh runs is overwritten. ext4 keeps a few
// clusters back from every writer (delayed allocation's reserve), so most,
// not all, of it must be gone.
func TestZeroWipesDeletedDataFromASmallExt4(t *testing.T) {
	mnt, image := smallFS(t, "ext4")
	marker := []byte("GOLD-STANDARD-LEFTOVER-")
	deleted := filepath.Join(mnt, "deleted")
	if err := os.WriteFile(deleted, bytes.Repeat(marker, 400_000), 0o644); err != nil { // 9 MB of 13 free
		t.Fatal(err)
	}
	if out, err := exec.Command("sync").CombinedOutput(); err != nil {
		t.Fatalf("sync: %v %s", err, out)
	}
	if err := os.Remove(deleted); err != nil {
		t.Fatal(err)
	}
	before := leftovers(t, mnt, image, marker)
	if out, err := exec.Command("bash", "zero.sh", mnt).CombinedOutput(); err != nil {
		t.Fatalf("zero.sh: %v\n%s", err, out)
	}
	after := leftovers(t, mnt, image, marker)
	t.Logf("copies of the deleted data on the disk: %d before, %d after zero.sh", before, after)
	if before < 300_000 || after > before/10 {
		t.Errorf("deleted data on the disk: %d copies before zero.sh, %d after; want most of it gone", before, after)
	}
}

// leftovers unmounts mnt, counts the marker in the disk image and mounts it
// again.
func leftovers(t *testing.T, mnt, image string, marker []byte) int {
	t.Helper()
	if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v %s", err, out)
	}
	disk, err := os.ReadFile(image)
	if out, err := exec.Command("mount", "-o", "loop", image, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount again: %v %s", err, out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(disk, marker)
}

func TestZeroFailsOnAnErrorOtherThanAFullDisk(t *testing.T) {
	mnt, _ := smallFS(t, "ext4")
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount ro: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("mount", "-o", "remount,rw", mnt).Run() })
	out, err := exec.Command("bash", "zero.sh", mnt).CombinedOutput()
	if err == nil {
		t.Fatalf("zero.sh succeeded on a read-only file system:\n%s", out)
	}
	for _, want := range []string{"Read-only file system", "zero: writing zeros to " + mnt + "/.zero.fill failed"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
