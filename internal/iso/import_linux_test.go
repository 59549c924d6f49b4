package iso

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gold-standard-images/internal/hashfile"
	"gold-standard-images/internal/progress"
	"gold-standard-images/internal/sparse"
)

// sparseISO makes a sparse file of size bytes (truncate -s) with 1 MiB of
// random data at its start and 1 MiB in its middle, and returns its sha256.
func sparseISO(t *testing.T, path string, size int64) string {
	t.Helper()
	if out, err := exec.Command("truncate", "-s", fmt.Sprint(size), path).CombinedOutput(); err != nil {
		t.Fatalf("truncate: %v %s", err, out)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1<<20)
	for _, at := range []int64{0, size / 2} {
		rand.Read(data)
		if _, err := f.WriteAt(data, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sum, err := hashfile.File(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestImportHashesFirstAndCopiesSparseIntoASmallCache: a 512 MiB sparse ISO
// (2 MiB of data) goes into a 64 MiB cache: with a wrong checksum nothing
// is written and the error is the checksum's, not a full disk; with the
// right one the copy takes its data's space, not 512 MiB.
func TestImportHashesFirstAndCopiesSparseIntoASmallCache(t *testing.T) {
	disk := smallDisk(t, "64m")
	src := filepath.Join(t.TempDir(), "sparse.iso")
	sum := sparseISO(t, src, 512<<20)
	opts := fastOptions(t)
	opts.CacheDir = filepath.Join(disk, "isos")

	_, wrong := newData(t, 8)
	_, err := Import(context.Background(), testConfig(t, wrong, "https://mirror.invalid/x.iso"), src, opts)
	var mm *MismatchError
	if !errors.As(err, &mm) {
		t.Errorf("a wrong checksum: %v, want the checksum mismatch (and nothing written)", err)
	}

	res, err := Import(context.Background(), testConfig(t, sum, "https://mirror.invalid/x.iso"), src, opts)
	if err != nil {
		t.Fatalf("the right checksum: %v", err)
	}
	t.Logf("the cached copy of the 512 MiB sparse ISO takes %s", progress.Bytes(sparse.Allocated(res.Path)))
	if got := sparse.Allocated(res.Path); got > 8<<20 {
		t.Errorf("the cached copy takes %s for 2 MiB of data: not sparse", progress.Bytes(got))
	}
	if got, _ := hashfile.File(context.Background(), res.Path); got != sum {
		t.Errorf("the cached copy has sha256 %s, want %s", got, sum)
	}
}

func TestImportSaysWhenTheCacheHasNoRoomBeforeCopying(t *testing.T) {
	disk := smallDisk(t, "16m")
	data, sum := newData(t, 24<<20)
	src := filepath.Join(t.TempDir(), "big.iso")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := fastOptions(t)
	opts.CacheDir = filepath.Join(disk, "isos")
	_, err := Import(context.Background(), testConfig(t, sum, "https://mirror.invalid/x.iso"), src, opts)
	t.Logf("error: %v", err)
	for _, want := range []string{opts.CacheDir, "needs " + progress.Bytes(24<<20), "free"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q", want)
		}
	}
	if errors.Is(err, syscall.ENOSPC) {
		t.Error("the copy ran into the full disk instead of being refused before")
	}
}

// TestAnImportKilledMidCopyLeavesNothingTheNextRunKeeps: a child process
// importing a large ISO is killed (SIGKILL) once its temporary copy is in
// the cache; the next import removes that copy, says so, and imports.
func TestAnImportKilledMidCopyLeavesNothingTheNextRunKeeps(t *testing.T) {
	if os.Getenv("GSI_IMPORT_CHILD") != "" {
		importInChild()
		return
	}
	cache, srcDir := t.TempDir(), t.TempDir()
	src := filepath.Join(srcDir, "big.iso")
	data, sum := newData(t, 256<<20)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestAnImportKilledMidCopyLeavesNothingTheNextRunKeeps$")
	child.Env = append(os.Environ(), "GSI_IMPORT_CHILD=1", "GSI_IMPORT_CACHE="+cache, "GSI_IMPORT_SRC="+src, "GSI_IMPORT_SUM="+sum, "GSI_IMPORT_ROOT="+t.TempDir())
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	var tmp string
	for tmp == "" && time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(cache, ".test-minimal.iso.tmp-*"))
		if len(matches) > 0 && sparse.Allocated(matches[0]) > 0 {
			tmp = matches[0]
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	child.Process.Kill()
	child.Wait()
	if tmp == "" {
		t.Fatal("the child's temporary copy never appeared")
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("the killed child's temporary copy is gone already (%v): the test killed it too late", err)
	}
	var out strings.Builder
	opts := Options{CacheDir: cache, Out: &out}
	if _, err := Import(context.Background(), testConfig(t, sum, "https://mirror.invalid/x.iso"), src, opts); err != nil {
		t.Fatalf("the next import: %v", err)
	}
	t.Logf("the next import said:\n%s", out.String())
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed import's %s is still there (%v)", filepath.Base(tmp), err)
	}
	if !strings.Contains(out.String(), filepath.Base(tmp)) {
		t.Errorf("the next import did not say it removed %s", filepath.Base(tmp))
	}
}

// importInChild is the child's side: one import, killed by the parent. Its
// folders are the parent's (a killed child cleans up no t.TempDir).
func importInChild() {
	opts := Options{CacheDir: os.Getenv("GSI_IMPORT_CACHE")}
	cfg := *testConfigIn(os.Getenv("GSI_IMPORT_ROOT"), os.Getenv("GSI_IMPORT_SUM"), "https://mirror.invalid/x.iso")
	Import(context.Background(), &cfg, os.Getenv("GSI_IMPORT_SRC"), opts)
}

// TestAnISOChangedInPlaceWithItsTimeRestoredIsVerifiedAgain: the cache
// record holds the file's inode and status change time too, which a
// change in place cannot put back (its size and mtime it can).
func TestAnISOChangedInPlaceWithItsTimeRestoredIsVerifiedAgain(t *testing.T) {
	data, sum := newData(t, 256<<10)
	src := filepath.Join(t.TempDir(), "good.iso")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, sum, "https://mirror.invalid/x.iso")
	opts := fastOptions(t)
	res, err := Import(context.Background(), cfg, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(res.Path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("tampered"), 1000)
	f.Close()
	if err := os.Chtimes(res.Path, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	opts.RetryMax = -1
	got, err := fetch(t, cfg, opts)
	t.Logf("Fetch: %+v, %v", got, err)
	if err == nil && got.Cached {
		t.Error("the tampered ISO was taken as verified before")
	}
}
