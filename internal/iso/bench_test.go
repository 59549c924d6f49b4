package iso

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"
)

// benchSize is the file size of BenchmarkFetch: 512 MiB, or ISO_BENCH_MIB.
func benchSize(b *testing.B) int {
	mib := 512
	if v := os.Getenv("ISO_BENCH_MIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("ISO_BENCH_MIB=%q: want a positive number of MiB", v)
		}
		mib = n
	}
	return mib << 20
}

// BenchmarkFetch compares Fetch (download into the cache, sha256, fsync,
// rename) with the bare transfer of the same file over loopback into
// io.Discard. The goal is FetchAndVerify at most 1.15x Discard's time per op.
// ISO_BENCH_DIR puts the cache elsewhere than the test's temporary folder,
// e.g. on a tmpfs (/dev/shm) to measure without the disk, which bounds a
// durable write of 512 MiB on a slow disk.
func BenchmarkFetch(b *testing.B) {
	data, sum := newData(b, benchSize(b))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "bench.iso", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	url := srv.URL + "/7.9/isos/x86_64/test-minimal.iso"

	b.Run("Discard", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			resp, err := http.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != int64(len(data)) {
				b.Fatalf("read %d bytes: %v", n, err)
			}
		}
	})
	b.Run("FetchAndVerify", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		cfg := testConfig(b, sum, url)
		for b.Loop() {
			b.StopTimer()
			dir, err := os.MkdirTemp(os.Getenv("ISO_BENCH_DIR"), "isobench")
			if err != nil {
				b.Fatal(err)
			}
			opts := Options{CacheDir: dir}
			b.StartTimer()
			res, err := Fetch(context.Background(), cfg, opts)
			if err != nil || res.SHA256 != sum {
				b.Fatalf("Fetch = %+v, %v", res, err)
			}
			b.StopTimer()
			os.RemoveAll(opts.CacheDir)
			b.StartTimer()
		}
	})
}
