package iso

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testSize = 4 << 20

func assertISO(t *testing.T, res Result, data []byte, sum string) {
	t.Helper()
	got, err := os.ReadFile(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("%s: content differs from the served file (%d bytes, want %d)", res.Path, len(got), len(data))
	}
	if res.SHA256 != sum {
		t.Fatalf("Result.SHA256 = %s, want %s", res.SHA256, sum)
	}
	if _, err := os.Stat(res.Path + ".part"); !os.IsNotExist(err) {
		t.Fatalf("%s.part still there after a verified fetch (err %v)", res.Path, err)
	}
}

func TestFetchResumesAfterConnectionCutAt30And70Percent(t *testing.T) {
	data, sum := newData(t, testSize)
	s := &isoServer{data: data, name: "test-minimal.iso", cuts: []int64{testSize * 3 / 10, testSize * 7 / 10}}
	srv := s.start(t)
	res, err := fetch(t, testConfig(t, sum, s.url(srv)), fastOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	assertISO(t, res, data, sum)
	if got := s.isoGETs.Load(); got != 3 {
		t.Errorf("server saw %d GETs of the ISO, want 3 (first, and two resumes)", got)
	}
	if sent, limit := s.sent.Load(), int64(testSize)*115/100; sent > limit {
		t.Errorf("server sent %d bytes for a %d byte file, want at most %d (resumed, not restarted)", sent, testSize, limit)
	}
}

func TestFetchStartsOverCleanlyWhenServerDoesNotResume(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *isoServer
	}{
		{"NoAcceptRanges", &isoServer{noRange: true}},
		{"AcceptRangesButRangeIgnored", &isoServer{ignoreRange: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, sum := newData(t, testSize)
			s := tc.s
			s.data, s.name, s.cuts = data, "test-minimal.iso", []int64{testSize / 2}
			srv := s.start(t)
			res, err := fetch(t, testConfig(t, sum, s.url(srv)), fastOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			assertISO(t, res, data, sum)
			if s.isoGETs.Load() < 2 {
				t.Errorf("server saw %d GETs, want a second one after the cut", s.isoGETs.Load())
			}
		})
	}
}

func TestFetchRetries503TwiceThenSucceedsHonouringRetryAfter(t *testing.T) {
	data, sum := newData(t, 64<<10)
	s := &isoServer{data: data, name: "test-minimal.iso", fail: 2, retryAfter: "1"}
	srv := s.start(t)
	res, err := fetch(t, testConfig(t, sum, s.url(srv)), fastOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	assertISO(t, res, data, sum)
	if got := s.requests.Load(); got != 3 {
		t.Errorf("server saw %d requests, want 3 (503, 503, 200)", got)
	}
	// Retry-After: 1 asks for a second between tries; the test options'
	// own backoff is 5-50ms, so a shorter gap means the header was ignored.
	for i := 1; i < len(s.times); i++ {
		if gap := s.times[i].Sub(s.times[i-1]); gap < 900*time.Millisecond {
			t.Errorf("request %d came %s after the 503 with Retry-After: 1", i+1, gap)
		}
	}
}

func TestFetchFallsBackToNextMirror(t *testing.T) {
	data, sum := newData(t, 256<<10)
	bad, _ := newData(t, 256<<10)
	for _, tc := range []struct {
		name  string
		first *isoServer
		opts  func(*Options)
	}{
		{"On404", &isoServer{status: 404}, nil},
		{"On5xxAfterRetries", &isoServer{status: 502}, nil},
		{"OnChecksumMismatch", &isoServer{data: bad}, nil},
		{"OnStall", &isoServer{data: data, stallAt: 100 << 10}, func(o *Options) { o.StallTimeout = 300 * time.Millisecond; o.Resumes = 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := tc.first
			first.name = "test-minimal.iso"
			second := &isoServer{data: data, name: "test-minimal.iso"}
			s1, s2 := first.start(t), second.start(t)
			opts := fastOptions(t)
			if tc.opts != nil {
				tc.opts(&opts)
			}
			var out bytes.Buffer
			opts.Out = &out
			res, err := fetch(t, testConfig(t, sum, first.url(s1), second.url(s2)), opts)
			if err != nil {
				t.Fatalf("%v\noutput:\n%s", err, out.String())
			}
			assertISO(t, res, data, sum)
			if res.Source != second.url(s2) {
				t.Errorf("Result.Source = %q, want the second mirror %q", res.Source, second.url(s2))
			}
			if first.requests.Load() == 0 {
				t.Errorf("first mirror was never asked")
			}
			if !strings.Contains(out.String(), first.url(s1)) {
				t.Errorf("output does not name the failed mirror %s:\n%s", first.url(s1), out.String())
			}
		})
	}
}

func TestFetchWrongChecksumFailsAndLeavesNothing(t *testing.T) {
	data, _ := newData(t, 256<<10)
	_, want := newData(t, 16)
	s := &isoServer{data: data, name: "test-minimal.iso"}
	srv := s.start(t)
	opts := fastOptions(t)
	_, err := fetch(t, testConfig(t, want, s.url(srv)), opts)
	var mm *MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("err = %v, want a MismatchError", err)
	}
	for _, part := range []string{want, sha(data), s.url(srv)} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error does not name %q:\n%v", part, err)
		}
	}
	entries, _ := os.ReadDir(opts.CacheDir)
	for _, e := range entries {
		t.Errorf("cache holds %q after a mismatch, want nothing", e.Name())
	}
}

func TestFetchCancelledMidTransferKeepsPartialAndNextFetchResumes(t *testing.T) {
	data, sum := newData(t, testSize)
	s := &isoServer{data: data, name: "test-minimal.iso", pauseAt: testSize / 2, reached: make(chan struct{})}
	srv := s.start(t)
	cfg := testConfig(t, sum, s.url(srv))
	opts := fastOptions(t)
	ctx, cancel := context.WithCancel(context.Background())
	reached := s.reached
	go func() { <-reached; time.Sleep(100 * time.Millisecond); cancel() }()
	_, err := Fetch(ctx, cfg, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	final := filepath.Join(opts.CacheDir, "test-minimal.iso")
	if _, err := os.Stat(final); !os.IsNotExist(err) {
		t.Fatalf("%s exists after a cancelled fetch", final)
	}
	partSize := fileSize(final + ".part")
	if partSize == 0 {
		t.Fatalf("no partial download kept at %s.part", final)
	}

	s.pauseAt = 0
	s.sent.Store(0)
	res, err := fetch(t, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	assertISO(t, res, data, sum)
	if sent, rest := s.sent.Load(), int64(testSize)-partSize; sent != rest {
		t.Errorf("second fetch had %d bytes sent, want the %d missing after the %d kept", sent, rest, partSize)
	}
}

// TestTwoFetchesOfOneISOIntoOneCacheDownloadItOnce: a second fetch of an
// ISO that another fetch is downloading into the same cache waits for it
// (saying so) instead of writing the same .part, then uses the verified
// file: both succeed, and the server sends the ISO once.
func TestTwoFetchesOfOneISOIntoOneCacheDownloadItOnce(t *testing.T) {
	data, sum := newData(t, testSize)
	s := &isoServer{data: data, name: "test-minimal.iso", pauseAt: testSize / 2, reached: make(chan struct{}), gate: make(chan struct{})}
	srv := s.start(t)
	opts := fastOptions(t)
	cfg := testConfig(t, sum, s.url(srv))
	type outcome struct {
		res Result
		err error
	}
	first := make(chan outcome, 1)
	reached := s.reached // the server clears the field
	go func() { res, err := fetch(t, cfg, opts); first <- outcome{res, err} }()
	<-reached // the first fetch is half way, holding the lock

	said := &sayWatch{want: []byte("waiting for another fetch of test-minimal.iso"), seen: make(chan struct{})}
	second := make(chan outcome, 1)
	go func() {
		o := opts
		o.Out = said
		res, err := fetch(t, testConfig(t, sum, s.url(srv)), o)
		second <- outcome{res, err}
	}()
	select {
	case <-said.seen:
		close(s.gate)
	case <-time.After(10 * time.Second):
		close(s.gate)
		t.Fatalf("the second fetch does not say it waits for the first")
	}
	for name, c := range map[string]chan outcome{"first": first, "second": second} {
		o := <-c
		if o.err != nil {
			t.Fatalf("%s fetch: %v", name, o.err)
		}
		assertISO(t, o.res, data, sum)
	}
	if got := s.isoGETs.Load(); got != 1 {
		t.Errorf("server saw %d GETs of the ISO, want 1", got)
	}
}

func TestFetchOfCachedVerifiedISOSendsNoRequest(t *testing.T) {
	data, sum := newData(t, 256<<10)
	s := &isoServer{data: data, name: "test-minimal.iso"}
	srv := s.start(t)
	cfg := testConfig(t, sum, s.url(srv))
	opts := fastOptions(t)
	if _, err := fetch(t, cfg, opts); err != nil {
		t.Fatal(err)
	}
	before := s.requests.Load()
	res, err := fetch(t, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Cached || res.SHA256 != sum {
		t.Errorf("second fetch = %+v, want a cached hit with sha256 %s", res, sum)
	}
	if got := s.requests.Load() - before; got != 0 {
		t.Errorf("cached fetch sent %d requests, want 0", got)
	}

	// A touched file is hashed again (not downloaded), then recorded anew.
	later := time.Now().Add(time.Hour)
	os.Chtimes(res.Path, later, later)
	res, err = fetch(t, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Cached || s.requests.Load() != before {
		t.Errorf("after touching the ISO: Cached=%v, requests %d (want re-hashed, no request)", res.Cached, s.requests.Load()-before)
	}
	// Verify re-hashes even with a matching record, and catches corruption.
	if _, err := Verify(context.Background(), cfg, opts); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(res.Path)
	f, _ := os.OpenFile(res.Path, os.O_WRONLY, 0)
	f.WriteAt([]byte{data[0] ^ 0xff}, 0)
	f.Close()
	os.Chtimes(res.Path, info.ModTime(), info.ModTime()) // same size and mtime: the record would still match
	if _, err := Verify(context.Background(), cfg, opts); err == nil || !strings.Contains(err.Error(), "mismatch") {
		t.Fatalf("Verify of a corrupted ISO: err = %v, want a checksum mismatch", err)
	}
}

func TestFetchLocalISOIsVerifiedInPlace(t *testing.T) {
	data, sum := newData(t, 256<<10)
	dir := t.TempDir()
	path := filepath.Join(dir, "rhel.iso")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{path, "file://" + path, filepath.Join(dir, "missing.iso") + "|" + path} {
		t.Run(strings.ReplaceAll(loc, "/", "_"), func(t *testing.T) {
			opts := fastOptions(t)
			res, err := fetch(t, testConfig(t, sum, strings.Split(loc, "|")...), opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Path != path || res.SHA256 != sum {
				t.Errorf("Result = %+v, want the file in place at %s", res, path)
			}
			if _, err := os.Stat(filepath.Join(opts.CacheDir, "test-minimal.iso")); !os.IsNotExist(err) {
				t.Errorf("local ISO was copied into the cache")
			}
		})
	}
	_, wrong := newData(t, 8)
	if _, err := fetch(t, testConfig(t, wrong, path), fastOptions(t)); err == nil || !strings.Contains(err.Error(), wrong) {
		t.Errorf("local ISO with the wrong checksum: err = %v, want a mismatch naming %s", err, wrong)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("a bad local ISO must be left where it is: %v", err)
	}
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
