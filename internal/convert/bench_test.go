package convert

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// realisticSparseDisk writes a sparse disk of size bytes whose data, 8 MiB
// runs spread evenly and dataMiB in all, is the content of the system's
// programs and libraries (compressible the way an OS disk is).
func realisticSparseDisk(b *testing.B, path string, size int64, dataMiB int) {
	b.Helper()
	var pool []byte
	for _, dir := range []string{"/usr/bin", "/usr/lib/x86_64-linux-gnu"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if len(pool) >= 64<<20 {
				break
			}
			if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				pool = append(pool, data...)
			}
		}
	}
	if len(pool) < 8<<20 {
		b.Fatalf("only %d bytes of sample data", len(pool))
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		b.Fatal(err)
	}
	runs := dataMiB / 8
	for i := range runs {
		off := int64(i) * (size / int64(runs))
		src := (i * (8 << 20)) % (len(pool) - 8<<20)
		if _, err := f.WriteAt(pool[src:src+8<<20], off); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGCPTarballVsGNUTar writes the gcp tarball of a sparse 8 GiB
// disk holding 512 MiB of data with tarballRaw and, in the same iteration,
// runs `tar --format=oldgnu -Sczf` on the same file, then reports both
// times and their ratio (goal: ratio <= 1.0).
func BenchmarkGCPTarballVsGNUTar(b *testing.B) {
	dir := b.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	realisticSparseDisk(b, raw, 8<<30, 512)
	b.SetBytes(512 << 20)
	ctx := context.Background()
	var ours, theirs time.Duration
	for b.Loop() {
		start := time.Now()
		if err := tarballRaw(ctx, raw, filepath.Join(dir, "ours.tar.gz"), time.Unix(0, 0)); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)

		cmd := exec.Command("tar", "--format=oldgnu", "-Sczf", "gnu.tar.gz", "disk.raw")
		cmd.Dir = dir
		start = time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("GNU tar: %v %s", err, out)
		}
		theirs += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(ours.Seconds()*1000/n, "ours-ms")
	b.ReportMetric(theirs.Seconds()*1000/n, "gnutar-ms")
	b.ReportMetric(ours.Seconds()/theirs.Seconds(), "ratio")
	for _, name := range []string{"ours.tar.gz", "gnu.tar.gz"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil {
			b.Logf("%s: %d MiB", name, st.Size()>>20)
		}
	}
}
