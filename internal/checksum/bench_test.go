package checksum

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// bigFiles writes n files of size bytes of random data into a new folder.
func bigFiles(b *testing.B, n int, size int64) (string, []string) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "virtualbox")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	var names []string
	for i := range n {
		name := fmt.Sprintf("disk%d.img", i)
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyN(f, rng, size); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		names = append(names, name)
	}
	return dir, names
}

// BenchmarkSHA256SUMVsCoreutils writes a folder's SHA256SUM (writeFolder)
// and, in the same iteration, runs `sha256sum <files>` (what `sha256sum *`
// does) on the same files, then reports both times and their ratio (goal:
// ratio <= 0.6). The files are in the page cache for both.
func BenchmarkSHA256SUMVsCoreutils(b *testing.B) {
	sha256sum := tool(b, "sha256sum")
	for _, c := range []struct {
		files int
		size  int64
	}{{4, 256 << 20}, {1, 1 << 30}} {
		b.Run(fmt.Sprintf("%dx%dMiB", c.files, c.size>>20), func(b *testing.B) {
			dir, names := bigFiles(b, c.files, c.size)
			b.SetBytes(int64(c.files) * c.size)
			var ours, theirs time.Duration
			ctx := context.Background()
			for b.Loop() {
				if err := os.Remove(filepath.Join(dir, FileName)); err != nil && !os.IsNotExist(err) {
					b.Fatal(err)
				}
				start := time.Now()
				if _, err := writeFolder(ctx, dir); err != nil {
					b.Fatal(err)
				}
				ours += time.Since(start)

				cmd := exec.Command(sha256sum, names...)
				cmd.Dir = dir
				start = time.Now()
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
				theirs += time.Since(start)
			}
			n := float64(b.N)
			b.ReportMetric(ours.Seconds()*1000/n, "ours-ms")
			b.ReportMetric(theirs.Seconds()*1000/n, "sha256sum-ms")
			b.ReportMetric(ours.Seconds()/theirs.Seconds(), "ratio")
		})
	}
}
