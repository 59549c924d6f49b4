package iso

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"gold-standard-images/internal/progress"
)

// smallDisk mounts a tmpfs of size bytes on a fresh folder for the test
// and unmounts it afterwards. It needs root: the test is skipped without,
// except in CI, where it fails.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mounting a %s tmpfs on %s (CI runs the tests as root): %v", size, dir, err)
		}
		t.Skipf("mounting a %s tmpfs needs root: %v", size, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// TestFetchOnAFullDiskStopsAtOnceNamingTheSpace: an ISO larger than the
// free space of the cache's file system fails on the first ENOSPC, without
// retries or other mirrors; the error names the folder, the ISO's size and
// the space free, and the partial download is removed.
func TestFetchOnAFullDiskStopsAtOnceNamingTheSpace(t *testing.T) {
	disk := smallDisk(t, "8m")
	data, sum := newData(t, 12<<20)
	s := &isoServer{data: data, name: "test-minimal.iso"}
	srv := s.start(t)
	mirror := &isoServer{data: data, name: "test-minimal.iso"}
	msrv := mirror.start(t)
	opts := fastOptions(t)
	opts.CacheDir = filepath.Join(disk, "isos")
	_, err := fetch(t, testConfig(t, sum, s.url(srv), mirror.url(msrv)), opts)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want ENOSPC", err)
	}
	for _, want := range []string{opts.CacheDir, "needs " + progress.Bytes(12<<20), "free"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if got := s.isoGETs.Load(); got != 1 {
		t.Errorf("server saw %d GETs, want 1 (no retry of a full disk)", got)
	}
	if got := mirror.isoGETs.Load(); got != 0 {
		t.Errorf("the next mirror saw %d GETs, want none (it would fill the disk too)", got)
	}
	entries, _ := os.ReadDir(opts.CacheDir)
	for _, e := range entries {
		t.Errorf("the cache holds %q after a full disk, want nothing", e.Name())
	}
}
