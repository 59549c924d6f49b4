package iso

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cavaliergopher/grab/v3"
	"github.com/hashicorp/go-retryablehttp"

	"gold-standard-images/internal/hashfile"
	"gold-standard-images/internal/httpbound"
	"gold-standard-images/internal/progress"
)

var (
	errRangeIgnored = errors.New("server ignored the Range request and sent the whole file")
	errStalled      = errors.New("no data received")
)

// requestError is a request that failed before any body arrived, after
// go-retryablehttp's own retries: the mirror is given up.
type requestError struct{ err error }

func (e *requestError) Error() string { return e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

// fetcher downloads one URL into a .part file with grab. It is grab's
// HTTPClient: it passes requests to a go-retryablehttp client and hashes
// response bodies as grab reads them, so a completed download needs no
// second pass over the file. The hash state is carried across resumed
// attempts as long as it covers exactly the bytes in the .part file.
type fetcher struct {
	url  string
	part string
	opts Options
	http *http.Client

	size    int64     // the ISO's size from the first answer's Content-Length; 0 when unknown
	h       hash.Hash // sha256 of the first hashed bytes of the .part file
	hashed  int64
	pipe    *hashfile.Writer // feeds h while a body is read; nil otherwise
	meter   *progress.Meter
	lastAct atomic.Int64 // unix nanoseconds of the last body read; 0 when no body is being read
}

func newFetcher(rawURL, part string, opts Options) *fetcher {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true // an ISO does not compress; and Range offsets must be of the raw file
	tr.ResponseHeaderTimeout = opts.StallTimeout
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	var inner http.RoundTripper = tr
	if part == "" { // a checksum file read whole (readBeside): the download's stall watch does not read it
		inner = httpbound.Transport(tr, opts.StallTimeout)
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Transport: inner}
	rc.Logger = nil
	rc.RetryMax = opts.RetryMax
	rc.RetryWaitMin = opts.RetryWaitMin
	rc.RetryWaitMax = opts.RetryWaitMax
	rc.Backoff = func(min, max time.Duration, n int, resp *http.Response) time.Duration {
		// DefaultBackoff honours Retry-After on 429 and 503; a server
		// asking for more than ten minutes is taken at ten.
		return minDuration(retryablehttp.DefaultBackoff(min, max, n, resp), 10*time.Minute)
	}
	rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		retry, cerr := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
		if retry && ctx.Err() == nil {
			why := fmt.Sprint(err)
			if resp != nil {
				why = resp.Status
				if ra := resp.Header.Get("Retry-After"); ra != "" {
					why += ", Retry-After " + ra
				}
			}
			opts.say("%s: %s; retrying", rawURL, why)
		}
		return retry, cerr
	}
	return &fetcher{url: rawURL, part: part, opts: opts, http: rc.StandardClient()}
}

func minDuration(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

// Do implements grab.HTTPClient.
func (f *fetcher) Do(req *http.Request) (*http.Response, error) {
	resp, err := f.http.Do(req)
	if err != nil {
		return nil, &requestError{err}
	}
	if req.Method != http.MethodGet || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent) {
		return resp, nil
	}
	if req.Header.Get("Range") != "" && resp.StatusCode == http.StatusOK {
		resp.Body.Close()
		return nil, errRangeIgnored
	}
	f.flush()
	var offset int64
	if resp.StatusCode == http.StatusPartialContent {
		offset, err = contentRangeStart(resp.Header.Get("Content-Range"))
		if err == nil {
			err = f.hashPrefix(req.Context(), offset)
		}
		if err != nil {
			resp.Body.Close()
			return nil, &requestError{fmt.Errorf("resuming %q: %w", f.url, err)}
		}
	} else {
		f.h, f.hashed = sha256.New(), 0
	}
	if f.meter == nil {
		if resp.ContentLength > 0 {
			f.size = offset + resp.ContentLength
		}
		f.meter = progress.New(f.opts.Out, f.label(), f.size, offset)
	}
	f.lastAct.Store(time.Now().UnixNano())
	f.pipe = hashfile.NewWriter(f.h)
	resp.Body = &hashingBody{ReadCloser: resp.Body, f: f}
	return resp, nil
}

func (f *fetcher) label() string {
	return "iso: " + f.url
}

// hashPrefix makes f.h the sha256 of the first offset bytes of the .part
// file, reusing the state of the previous attempt when it covers them.
func (f *fetcher) hashPrefix(ctx context.Context, offset int64) error {
	if f.h != nil && f.hashed == offset {
		return nil
	}
	file, err := os.Open(f.part)
	if err != nil {
		return err
	}
	defer file.Close()
	if info, err := file.Stat(); err != nil || info.Size() != offset {
		return fmt.Errorf("server resumed at byte %d but %q does not have that size", offset, f.part)
	}
	h := sha256.New()
	n, err := hashfile.Copy(ctx, h, io.LimitReader(file, offset))
	if err == nil && n != offset {
		err = fmt.Errorf("read %d of %d bytes", n, offset)
	}
	if err != nil {
		return fmt.Errorf("hashing %q: %w", f.part, err)
	}
	f.h, f.hashed = h, offset
	return nil
}

// contentRangeStart reads the first byte position of "bytes 100-199/200".
func contentRangeStart(v string) (int64, error) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	start, _, ok2 := strings.Cut(rest, "-")
	n, err := strconv.ParseInt(start, 10, 64)
	if !ok || !ok2 || err != nil || n < 0 {
		return 0, fmt.Errorf("reading Content-Range %q: want \"bytes <first>-<last>/<size>\"", v)
	}
	return n, nil
}

// flush waits until the hash has taken every byte read so far.
func (f *fetcher) flush() {
	if f.pipe != nil {
		f.pipe.Close()
		f.pipe = nil
	}
}

// hashingBody feeds what grab reads to the fetcher's hash and meter.
type hashingBody struct {
	io.ReadCloser
	f *fetcher
}

func (b *hashingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.f.pipe.Write(p[:n])
		b.f.hashed += int64(n)
		b.f.meter.Add(int64(n))
		b.f.lastAct.Store(time.Now().UnixNano())
	}
	return n, err
}

func (b *hashingBody) Close() error {
	b.f.lastAct.Store(0)
	return b.ReadCloser.Close()
}

// once runs one grab request; it resumes from the .part file unless
// noResume.
func (f *fetcher) once(ctx context.Context, noResume bool) error {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	f.lastAct.Store(0)
	go f.watch(actx, cancel)

	req, err := grab.NewRequest(f.part, f.url)
	if err != nil {
		return &requestError{fmt.Errorf("requesting %q: %w", f.url, err)}
	}
	req = req.WithContext(actx)
	req.NoResume = noResume
	req.IgnoreRemoteTime = true
	c := &grab.Client{HTTPClient: f, UserAgent: "gold-standard-images", BufferSize: 256 << 10}
	resp := c.Do(req)
	err = resp.Err()
	f.flush()
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), errStalled) {
		return fmt.Errorf("%w for %s", errStalled, f.opts.StallTimeout)
	}
	return err
}

// watch cancels the attempt when a body is being read but no byte came for
// StallTimeout.
func (f *fetcher) watch(ctx context.Context, cancel context.CancelCauseFunc) {
	t := time.NewTicker(minDuration(f.opts.StallTimeout/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			last := f.lastAct.Load()
			if last != 0 && time.Since(time.Unix(0, last)) > f.opts.StallTimeout {
				cancel(errStalled)
				return
			}
		}
	}
}

// download fetches rawURL into final (through final.part), verifying that
// its sha256 is want before the rename.
func download(ctx context.Context, rawURL, final, want string, opts Options) (Result, error) {
	part := final + ".part"
	f := newFetcher(rawURL, part, opts)
	defer func() {
		if f.meter != nil {
			f.meter.Done()
		}
	}()
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("creating ISO cache %q: %w", opts.CacheDir, err)
	}
	stopWriteback := startWriteback(part)
	defer stopWriteback()
	noResume := false
	stuck := 0
	for {
		before := fileSize(part)
		err := f.once(ctx, noResume)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return Result{}, err
		}
		if errors.Is(err, syscall.ENOSPC) {
			return Result{}, f.diskFull(err)
		}
		var re *requestError
		switch {
		case errors.Is(err, errRangeIgnored):
			opts.say("%s: %v; starting over", rawURL, err)
			noResume = true
		case errors.Is(err, grab.ErrBadLength):
			opts.say("%s: %q is longer than the file on the server; starting over", rawURL, part)
			if err := os.Remove(part); err != nil {
				return Result{}, fmt.Errorf("removing %q: %w", part, err)
			}
			f.h = nil
		case errors.As(err, &re), grab.IsStatusCodeError(err):
			return Result{}, fmt.Errorf("downloading %q: %w", rawURL, err)
		}
		if fileSize(part) > before {
			stuck = 0
		} else {
			stuck++
		}
		if stuck > opts.Resumes {
			return Result{}, fmt.Errorf("downloading %q: no progress in %d attempts in a row: %w", rawURL, stuck, err)
		}
		opts.say("%s: %v; resuming at byte %d", rawURL, err, fileSize(part))
		if stuck > 0 {
			select {
			case <-ctx.Done():
				return Result{}, ctx.Err()
			case <-time.After(opts.RetryWaitMin * time.Duration(stuck)):
			}
		}
	}

	size := fileSize(part)
	var sum string
	if f.h != nil && f.hashed == size {
		sum = hex.EncodeToString(f.h.Sum(nil))
	} else { // grab found the .part complete and read no body
		var err error
		if sum, err = hashfile.FileWithProgress(ctx, part, opts.Out, "iso: verifying "+part); err != nil {
			return Result{}, err
		}
	}
	if sum != want {
		rmErr := os.Remove(part)
		mm := &MismatchError{Source: rawURL, Path: final, Want: want, Got: sum}
		if rmErr != nil {
			return Result{}, fmt.Errorf("%w; removing the bad download: %v", mm, rmErr)
		}
		return Result{}, mm
	}
	if err := syncFile(part); err != nil {
		return Result{}, err
	}
	if err := os.Rename(part, final); err != nil {
		return Result{}, fmt.Errorf("moving verified ISO into place: %w", err)
	}
	return Result{Path: final, SHA256: sum, Source: rawURL}, nil
}

// diskFull is the error of a download that ran out of space, which no
// retry or other mirror mends: it removes the partial download (a full
// disk helps nobody) and names the folder, the space the ISO needs and the
// space free.
func (f *fetcher) diskFull(err error) error {
	dir := filepath.Dir(f.part)
	os.Remove(f.part)
	need, free := "an unknown size", "unknown"
	if f.size > 0 {
		need = progress.Bytes(f.size)
	}
	if n, ok := freeSpace(dir); ok {
		free = progress.Bytes(n)
	}
	return fmt.Errorf("downloading %q into %q: the disk is full: the ISO needs %s, %s free (partial download removed); free some space or set ISO_CACHE to a folder with more: %w", f.url, dir, need, free, err)
}

func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("syncing %q: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %q: %w", path, err)
	}
	return nil
}
