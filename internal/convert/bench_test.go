package convert

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/sshkeys"
	"gold-standard-images/test/fixture"
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

// packerDisk writes provider's Packer output for cfg: an 8 GiB qcow2 holding
// 512 MiB of realisticSparseDisk data.
func packerDisk(b *testing.B, cfg *config.Config, provider string) string {
	b.Helper()
	need(b, "qemu-img")
	in := packerOutput(b, cfg, provider, "qcow2")
	raw := filepath.Join(b.TempDir(), "disk.raw")
	realisticSparseDisk(b, raw, 8<<30, 512)
	sh(b, "", "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, in)
	must(b, os.Remove(raw))
	return in
}

// vsBaseline times ours and then the baseline in every iteration (so both
// see the same load and page cache) and reports the median times per
// operation and the median of the iterations' ratios, ours / baseline.
func vsBaseline(b *testing.B, baseline string, ours, theirs func()) {
	b.Helper()
	var tOurs, tTheirs, ratios []float64
	for b.Loop() {
		o, t := seconds(ours), seconds(theirs)
		tOurs, tTheirs, ratios = append(tOurs, o), append(tTheirs, t), append(ratios, o/t)
	}
	b.ReportMetric(median(tOurs)*1000, "ours-ms")
	b.ReportMetric(median(tTheirs)*1000, baseline+"-ms")
	b.ReportMetric(median(ratios), "ratio")
}

// seconds is how long f takes.
func seconds(f func()) float64 {
	start := time.Now()
	f()
	return time.Since(start).Seconds()
}

func median(xs []float64) float64 { return slices.Sorted(slices.Values(xs))[len(xs)/2] }

// onDisk is the number of bytes path takes on disk.
func onDisk(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	must(b, err)
	return st.Sys().(*syscall.Stat_t).Blocks * 512
}

// BenchmarkAzureVHDVsQemuImg converts an 8 GiB qcow2 holding 512 MiB of
// data into the azure VHD (Run, as artifacts:convert does) and, in the same
// iteration, runs `qemu-img convert -O vpc -o subformat=fixed,force_size` on
// it (goal: ratio <= 1.3), and logs the space both VHDs take on disk.
func BenchmarkAzureVHDVsQemuImg(b *testing.B) {
	cfg := testConfig(b)
	in := packerDisk(b, cfg, "azure")
	ctx, only := context.Background(), selectOnly(b, "azure")
	vhd, plain := artifactPath(cfg, "azure", "vhd"), filepath.Join(b.TempDir(), "qemu-img.vhd")
	vsBaseline(b, "qemuimg", func() {
		os.Remove(vhd)
		if _, err := Run(ctx, cfg, only, Options{}); err != nil {
			b.Fatal(err)
		}
	}, func() {
		os.Remove(plain)
		sh(b, "", "qemu-img", "convert", "-f", "qcow2", "-O", "vpc", "-o", "subformat=fixed,force_size", in, plain)
	})
	b.Logf("on disk: ours %d MiB, qemu-img %d MiB", onDisk(b, vhd)>>20, onDisk(b, plain)>>20)
}

// BenchmarkAzureVHDOfARealImageVsQemuImg converts the fixture guest's disk
// (a real Debian 12 system, copied as Packer's output) into the azure VHD
// as artifacts:convert does and, in the same iteration, runs `qemu-img
// convert -O vpc -o subformat=fixed,force_size` on it: the conversion a
// platform takes does nothing a user would not do by hand (goal: ratio <=
// 1.3). The second row adds the debug box, which artifacts:convert made
// with every VHD before it became a step of its own (the baseline).
func BenchmarkAzureVHDOfARealImageVsQemuImg(b *testing.B) {
	need(b, "qemu-img", "guestfish", "mmdebstrap")
	ctx := context.Background()
	accel, err := kvm.Choose(ctx, os.Getenv, "")
	must(b, err)
	base, _ := fixture.Image(ctx, b, accel)
	for _, row := range []struct {
		name     string
		debugBox bool
	}{
		{"the VHD", false},
		{"the VHD and its debug box, as before", true},
	} {
		b.Run(row.name, func(b *testing.B) {
			cfg := testConfig(b)
			_, err := sshkeys.Ensure(filepath.Join(cfg.Root, "keys"), "vagrant") // the debug box's key
			must(b, err)
			in := packerOutput(b, cfg, "azure", "qcow2")
			sh(b, "", "qemu-img", "convert", "-f", "qcow2", "-O", "qcow2", base, in)
			only := selectOnly(b, "azure")
			vhd, plain := artifactPath(cfg, "azure", "vhd"), filepath.Join(b.TempDir(), "qemu-img.vhd")
			vsBaseline(b, "qemuimg", func() {
				os.RemoveAll(filepath.Dir(vhd)) // the VHD, its debug box and their records
				if _, err := Run(ctx, cfg, only, Options{}); err != nil {
					b.Fatal(err)
				}
				if row.debugBox {
					if _, err := Run(ctx, cfg, only, Options{DebugBoxes: true}); err != nil {
						b.Fatal(err)
					}
				}
			}, func() {
				os.Remove(plain)
				sh(b, "", "qemu-img", "convert", "-f", "qcow2", "-O", "vpc", "-o", "subformat=fixed,force_size", in, plain)
			})
		})
	}
}

// BenchmarkGCPTarballVsShellRecipe makes the gcp tarball of an 8 GiB qcow2
// holding 512 MiB of data (Run, as artifacts:convert does) and, in the same
// iteration, runs the shell recipe it replaces, `qemu-img convert -O raw`
// then `tar --format=oldgnu -Sczf` (goal: ratio <= 0.5).
func BenchmarkGCPTarballVsShellRecipe(b *testing.B) {
	need(b, "tar")
	cfg := testConfig(b)
	in := packerDisk(b, cfg, "gcp")
	ctx, only := context.Background(), selectOnly(b, "gcp")
	out, dir := artifactPath(cfg, "gcp", "tar.gz"), b.TempDir()
	vsBaseline(b, "shell", func() {
		os.Remove(out)
		if _, err := Run(ctx, cfg, only, Options{}); err != nil {
			b.Fatal(err)
		}
	}, func() {
		sh(b, dir, "qemu-img", "convert", "-f", "qcow2", "-O", "raw", in, "disk.raw")
		sh(b, dir, "tar", "--format=oldgnu", "-Sczf", "gnu.tar.gz", "disk.raw")
		os.Remove(filepath.Join(dir, "disk.raw"))
	})
	b.Logf("size: ours %d MiB, shell %d MiB", size(b, out)>>20, size(b, filepath.Join(dir, "gnu.tar.gz"))>>20)
}

func size(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	must(b, err)
	return st.Size()
}

// BenchmarkGCPTarballVsGNUTar writes the gcp tarball of a sparse 8 GiB
// raw disk holding 512 MiB of data with tarballRaw and, in the same
// iteration, runs `tar --format=oldgnu -Sczf` on the same file (goal:
// ratio <= 1.0): the tarball step alone.
func BenchmarkGCPTarballVsGNUTar(b *testing.B) {
	need(b, "tar")
	dir := b.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	realisticSparseDisk(b, raw, 8<<30, 512)
	b.SetBytes(512 << 20)
	ctx := context.Background()
	vsBaseline(b, "gnutar", func() {
		if err := tarballRaw(ctx, raw, filepath.Join(dir, "ours.tar.gz"), time.Unix(0, 0)); err != nil {
			b.Fatal(err)
		}
	}, func() {
		sh(b, dir, "tar", "--format=oldgnu", "-Sczf", "gnu.tar.gz", "disk.raw")
	})
	b.Logf("size: ours %d MiB, gnutar %d MiB", size(b, filepath.Join(dir, "ours.tar.gz"))>>20, size(b, filepath.Join(dir, "gnu.tar.gz"))>>20)
}

// systemTar writes a tar of the system's files (under /usr) of about n
// bytes: what a docker rootfs holds.
func systemTar(b *testing.B, path string, n int64) {
	f, err := os.Create(path)
	must(b, err)
	defer f.Close()
	tw := tar.NewWriter(f)
	var total int64
	filepath.WalkDir("/usr", func(p string, d fs.DirEntry, err error) error {
		if total >= n {
			return fs.SkipAll
		}
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer src.Close()
		h, _ := tar.FileInfoHeader(info, "")
		h.Name = p[1:]
		must(b, tw.WriteHeader(h))
		k, err := io.Copy(tw, src)
		must(b, err)
		total += k
		return nil
	})
	must(b, tw.Close())
}

// counter counts the bytes written to it.
type counter int64

func (c *counter) Write(p []byte) (int, error) { *c += counter(len(p)); return len(p), nil }

// BenchmarkGzipVsStandardLibrary compresses the payloads of the docker
// rootfs (a tar of system files, default level) and of a Vagrant box (a
// compressed qcow2, best speed) with the project's parallel gzip and, in
// the same iteration, with compress/gzip at the same level, and reports
// the time ratio and the size ratio (ours / standard library).
func BenchmarkGzipVsStandardLibrary(b *testing.B) {
	for _, c := range []struct {
		name  string
		level int
		make  func(b *testing.B, path string)
	}{
		{"rootfs", gzip.DefaultCompression, func(b *testing.B, path string) { systemTar(b, path, 256<<20) }},
		{"box", gzip.BestSpeed, func(b *testing.B, path string) {
			need(b, "qemu-img")
			raw := filepath.Join(b.TempDir(), "disk.raw")
			realisticSparseDisk(b, raw, 1<<30, 256)
			sh(b, "", "qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", raw, path)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			in := filepath.Join(b.TempDir(), "in")
			c.make(b, in)
			var ours, std counter
			compress := func(w io.WriteCloser) {
				f, err := os.Open(in)
				must(b, err)
				defer f.Close()
				_, err = io.Copy(w, f)
				must(b, err)
				must(b, w.Close())
			}
			vsBaseline(b, "stdlib", func() {
				ours = 0
				compress(newParallelGzip(&ours, c.level))
			}, func() {
				std = 0
				z, err := gzip.NewWriterLevel(&std, c.level)
				must(b, err)
				compress(z)
			})
			b.ReportMetric(float64(ours)/float64(std), "size-ratio")
			b.Logf("%s: %d MiB in, ours %d MiB, stdlib %d MiB", c.name, size(b, in)>>20, int64(ours)>>20, int64(std)>>20)
		})
	}
}
