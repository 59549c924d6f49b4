package iso

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gold-standard-images/internal/config"
)

// isoServer serves one file with faults injected on request.
type isoServer struct {
	data []byte
	name string // served at /<name>; other paths are 404 unless in extra

	extra       map[string][]byte // other files served whole (checksum files)
	stallExtra  bool              // send half of an extra file, then hang until the client goes
	noRange     bool              // no Accept-Ranges, Range ignored
	ignoreRange bool              // advertises Accept-Ranges but ignores Range
	status      int               // answer every request with this status
	fail        int               // answer the first fail requests with 503
	retryAfter  string            // Retry-After of those 503s
	stallAt     int64             // stop sending at this offset and hang until the client goes
	pauseAt     int64             // at this offset signal reached and hang until the client goes
	reached     chan struct{}
	gate        chan struct{} // with pauseAt: go on sending once it is closed

	mu       sync.Mutex
	cuts     []int64 // offsets at which to cut the connection, each once
	times    []time.Time
	sent     atomic.Int64 // body bytes written
	requests atomic.Int64 // every request, HEAD included
	isoGETs  atomic.Int64
}

func newData(t testing.TB, n int) ([]byte, string) {
	t.Helper()
	data := make([]byte, n)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:])
}

func (s *isoServer) start(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func (s *isoServer) url(srv *httptest.Server) string { return srv.URL + "/7.9/isos/x86_64/" + s.name }

func (s *isoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	s.times = append(s.times, time.Now())
	fail := s.fail > 0
	if fail {
		s.fail--
	}
	s.mu.Unlock()
	if s.status != 0 {
		http.Error(w, http.StatusText(s.status), s.status)
		return
	}
	if fail {
		if s.retryAfter != "" {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	base := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	if body, ok := s.extra[base]; ok {
		if s.stallExtra {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		w.Write(body)
		return
	}
	if base != s.name {
		http.NotFound(w, r)
		return
	}
	if !s.noRange {
		w.Header().Set("Accept-Ranges", "bytes")
	}
	var start int64
	status := http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" && !s.noRange && !s.ignoreRange {
		v := strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > int64(len(s.data)) {
			http.Error(w, "bad range", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start, status = n, http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(s.data)-1, len(s.data)))
	}
	w.Header().Set("Content-Length", strconv.FormatInt(int64(len(s.data))-start, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	s.isoGETs.Add(1)
	pos := start
	for pos < int64(len(s.data)) {
		if s.stallAt > 0 && pos >= s.stallAt { // a stalled mirror stays stalled
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		end := min(pos+32<<10, int64(len(s.data)))
		stop := int64(-1)
		s.mu.Lock()
		for i, c := range s.cuts {
			if c > pos && c <= end {
				stop = c
				s.cuts = append(s.cuts[:i:i], s.cuts[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		hang := false
		for _, at := range []int64{s.stallAt, s.pauseAt} {
			if at > pos && at <= end {
				end, hang = at, true
			}
		}
		if stop >= 0 {
			end = stop
		}
		n, err := w.Write(s.data[pos:end])
		s.sent.Add(int64(n))
		pos += int64(n)
		if err != nil {
			return
		}
		if stop >= 0 {
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // cut the connection mid-body
		}
		if hang {
			w.(http.Flusher).Flush()
			paused := s.pauseAt == pos
			gate := s.gate // read before reached lets the test on
			if paused && s.reached != nil {
				close(s.reached)
				s.reached = nil
			}
			if paused && gate != nil {
				select {
				case <-gate:
					continue
				case <-r.Context().Done():
				}
			}
			<-r.Context().Done()
			return
		}
	}
}

// testConfig is an OS definition whose ISO comes from urls.
func testConfig(t testing.TB, sum string, urls ...string) *config.Config {
	return testConfigIn(t.TempDir(), sum, urls...)
}

// testConfigIn is testConfig rooted in root.
func testConfigIn(root, sum string, urls ...string) *config.Config {
	return &config.Config{Root: root, OS: config.OS{
		VMName: "Test-7.9", OSName: "CentOS", OSVersion: "7.9", ISO: "test-minimal",
		ISOChecksum: sum, ISOURL: urls,
	}}
}

// fastOptions retries quickly so tests do not wait on backoff.
func fastOptions(t testing.TB) Options {
	return Options{CacheDir: t.TempDir(), RetryMax: 3, RetryWaitMin: 5 * time.Millisecond, RetryWaitMax: 50 * time.Millisecond, StallTimeout: 5 * time.Second}
}

func fetch(t testing.TB, cfg *config.Config, opts Options) (Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return Fetch(ctx, cfg, opts)
}

// sayWatch is an Options.Out that closes seen once a line holding want is
// written (fetches write from more than one goroutine).
type sayWatch struct {
	want []byte
	once sync.Once
	seen chan struct{}
}

func (w *sayWatch) Write(p []byte) (int, error) {
	if bytes.Contains(p, w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}
