package dockerpush

import (
	"archive/tar"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/layerdigest"
)

// benchLayer writes, as cfg's docker artifact, a gzip tar of the system's
// files under /usr: DOCKER_BENCH_MIB MiB of them (default 700, about 270 MB
// compressed, the size of a CentOS 7 rootfs layer).
func benchLayer(b *testing.B, cfg *config.Config) string {
	b.Helper()
	n := int64(700)
	if v := os.Getenv("DOCKER_BENCH_MIB"); v != "" {
		k, err := strconv.ParseInt(v, 10, 64)
		if err != nil || k <= 0 {
			b.Fatalf("DOCKER_BENCH_MIB=%q: want a positive number of MiB", v)
		}
		n = k
	}
	path := filepath.Join(cfg.Root, Source(cfg))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	z := gzip.NewWriter(f)
	tw := tar.NewWriter(z)
	var total int64
	filepath.WalkDir("/usr", func(p string, d fs.DirEntry, err error) error {
		if total >= n<<20 {
			return fs.SkipAll
		}
		info, ierr := d.Info()
		if err != nil || ierr != nil || !info.Mode().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		h, _ := tar.FileInfoHeader(info, "")
		h.Name, h.Size = p[1:], int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			b.Fatal(err)
		}
		tw.Write(data)
		total += int64(len(data))
		return nil
	})
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := z.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkPushVsSkopeo pushes a rootfs layer with Publish to a fresh
// docker-registry as upload:docker does right after artifacts:convert (the
// layer digests recorded), again with nothing changed, and to another fresh
// registry without the record (the tarball made elsewhere: one pass to
// hash it first); in the same iteration it copies the same image with
// `skopeo copy` from an OCI layout to a fresh docker-registry, twice. It
// reports the median times and the medians of the iterations' ratios to
// skopeo's (goals: fresh <= 1.5x; re-push <= 200 ms).
func BenchmarkPushVsSkopeo(b *testing.B) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		b.Fatalf("skopeo is needed for this benchmark (apt-get install skopeo): %v", err)
	}
	cfg := &config.Config{Root: b.TempDir(), Site: config.Defaults(), OS: config.OS{VMName: vmName}}
	path := benchLayer(b, cfg)
	if st, err := os.Stat(path); err == nil {
		b.Logf("layer: %d MB", st.Size()/1e6)
	}
	b.Setenv("DOCKER_CONFIG", b.TempDir())
	ctx := context.Background()
	oci := filepath.Join(b.TempDir(), "oci")
	if _, err := Publish(ctx, cfg, Settings{OutDir: oci}, Options{}); err != nil {
		b.Fatal(err)
	}
	push := func(reg string) func() {
		return func() {
			if _, err := Publish(ctx, cfg, Settings{Registry: reg, Namespace: "gold"}, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	skopeoCopy := func(reg string) func() {
		return func() {
			cmd := exec.Command("skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:"+oci+":1.0.0", "docker://"+reg+"/gold/skopeo:1.0.0")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("skopeo copy: %v\n%s", err, out)
			}
		}
	}
	var fresh, again, unrecorded, sFresh, sAgain []float64
	timed := func(series *[]float64, f func()) {
		start := time.Now()
		f()
		*series = append(*series, time.Since(start).Seconds())
	}
	for b.Loop() {
		recorded, bare, theirs := startDockerRegistry(b), startDockerRegistry(b), startDockerRegistry(b)
		if _, err := layerdigest.Of(ctx, path); err != nil {
			b.Fatal(err)
		}
		timed(&fresh, push(recorded))
		timed(&again, push(recorded))
		timed(&sFresh, skopeoCopy(theirs))
		timed(&sAgain, skopeoCopy(theirs))
		os.Remove(layerdigest.Path(path))
		timed(&unrecorded, push(bare))
	}
	median := func(xs []float64) float64 { return slices.Sorted(slices.Values(xs))[len(xs)/2] }
	ratio := func(xs, ys []float64) float64 {
		rs := make([]float64, len(xs))
		for i := range xs {
			rs[i] = xs[i] / ys[i]
		}
		return median(rs)
	}
	for _, m := range []struct {
		series []float64
		unit   string
	}{{fresh, "fresh"}, {sFresh, "skopeo-fresh"}, {again, "repush"}, {sAgain, "skopeo-repush"}, {unrecorded, "unrecorded"}} {
		b.ReportMetric(median(m.series)*1000, m.unit+"-ms")
	}
	b.ReportMetric(ratio(fresh, sFresh), "fresh-ratio")
	b.ReportMetric(ratio(again, sAgain), "repush-ratio")
	b.ReportMetric(ratio(unrecorded, sFresh), "unrecorded-ratio")
}
