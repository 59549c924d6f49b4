// Package iso makes the installation ISO of an OS definition available
// locally and verified: downloaded into a cache (resumable, retried, from the
// first mirror that works) or, for a local path or file:// URL, verified in
// place. The sha256 comes from iso_checksum; where the definition names a
// clear-signed checksum file, its signature and the ISO's line in it are
// checked too. A verified ISO is recorded so a later Fetch skips the network
// and the hashing.
package iso

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/hashfile"
	"gold-standard-images/internal/redact"
	"gold-standard-images/internal/tree"
)

// Options tunes Fetch and Verify; the zero value is fine for builds.
type Options struct {
	CacheDir string              // where downloads go; empty uses tree.ISOCache(cfg.Root, Getenv)
	Getenv   func(string) string // reads ISO_CACHE when CacheDir is empty; nil is os.Getenv
	Out      io.Writer           // progress and retry lines; nil is silent

	RetryMax     int           // retries of one request on connection errors, 429 and 5xx; 0 means 5, -1 none
	RetryWaitMin time.Duration // first backoff; 0 means 1s
	RetryWaitMax time.Duration // longest backoff, and the cap on a server's Retry-After; 0 means 30s
	Resumes      int           // resumed attempts in a row without progress before a mirror is given up; 0 means 3
	StallTimeout time.Duration // a transfer with no bytes for this long is cut and resumed; 0 means 60s
}

// Result is a verified ISO.
type Result struct {
	Path   string // local file, in the cache or (local source) where it was given
	SHA256 string // lower-case hex digest, equal to iso_checksum
	Source string // URL or path it came from; "cache" for a cached hit
	Cached bool   // the cache record matched: neither network nor hashing
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// source is one place the ISO can be had from.
type source struct {
	raw   string // as written in the definition
	url   string // http(s) URL; empty for a local file
	local string // local path; empty for a URL
}

func (s source) String() string { return s.raw }

// sources parses cfg's ISO locations in the order to try them.
func sources(cfg *config.Config) ([]source, error) {
	var out []source
	for _, raw := range cfg.OS.ISOURLs() {
		switch {
		case strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://"):
			if _, err := url.Parse(raw); err != nil {
				return nil, fmt.Errorf("reading ISO location %q: %w", raw, err)
			}
			out = append(out, source{raw: raw, url: raw})
		case strings.HasPrefix(raw, "file://"):
			u, err := url.Parse(raw)
			if err != nil || u.Path == "" {
				return nil, fmt.Errorf("reading ISO location %q: want file:///absolute/path", raw)
			}
			out = append(out, source{raw: raw, local: filepath.FromSlash(u.Path)})
		case strings.Contains(raw, "://"):
			return nil, fmt.Errorf("reading ISO location %q: want an http://, https:// or file:// URL or a local path", raw)
		default:
			p := raw
			if !filepath.IsAbs(p) {
				p = filepath.Join(cfg.Root, p)
			}
			out = append(out, source{raw: raw, local: p})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("fetching the ISO of %q: the definition gives no iso_server or iso_url", cfg.OS.VMName)
	}
	return out, nil
}

func (o Options) withDefaults(cfg *config.Config) Options {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.CacheDir == "" {
		o.CacheDir = tree.ISOCache(cfg.Root, o.Getenv)
	}
	if o.RetryMax == 0 {
		o.RetryMax = 5
	}
	if o.RetryMax < 0 {
		o.RetryMax = 0
	}
	if o.RetryWaitMin == 0 {
		o.RetryWaitMin = time.Second
	}
	if o.RetryWaitMax == 0 {
		o.RetryWaitMax = 30 * time.Second
	}
	if o.Resumes == 0 {
		o.Resumes = 3
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = 60 * time.Second
	}
	return o
}

func (o Options) say(format string, args ...any) {
	if o.Out != nil {
		fmt.Fprint(o.Out, redact.Text(fmt.Sprintf(">> iso: "+format+"\n", args...)))
	}
}

func wantSum(cfg *config.Config) (string, error) {
	want := strings.ToLower(strings.TrimSpace(cfg.OS.ISOChecksum))
	if want == "" && cfg.OS.ISOChecksumFile != "" {
		return "", nil // taken from the signed checksum file (plan)
	}
	if !hex64.MatchString(want) {
		return "", fmt.Errorf("fetching the ISO of %q: field \"iso_checksum\": want 64 hex characters (sha256), got %q", cfg.OS.VMName, cfg.OS.ISOChecksum)
	}
	return want, nil
}

// Fetch makes cfg's ISO available locally and verified, and returns its path
// and sha256. Sources are tried in order: a local path is verified in place
// (never copied); a URL is downloaded into the cache as <iso>.part, resumed
// after cuts, and renamed to <iso> only once its sha256 matched. A checksum
// mismatch removes the bad data and moves on to the next mirror. When the
// cache record of a verified ISO still matches the file, Fetch returns at
// once without network or hashing. A download takes the cache's lock of the
// ISO (lockISO): a second fetch of it waits for the first.
func Fetch(ctx context.Context, cfg *config.Config, opts Options) (_ Result, err error) {
	defer func() { err = redact.Error(err) }()
	opts = opts.withDefaults(cfg)
	want, srcs, err := plan(ctx, cfg, opts)
	if err != nil {
		return Result{}, err
	}
	signed := cfg.OS.ISOChecksum == "" // plan read want from the signed checksum file
	final := filepath.Join(opts.CacheDir, cfg.OS.ISOFile())
	rec := recordPath(opts.CacheDir, cfg.OS.ISOFile())

	// Cached hits: the recorded file (in the cache or in place) unchanged.
	cached := func() (Result, bool) {
		for _, p := range candidatePaths(final, srcs) {
			if recorded(rec, p, want) {
				opts.say("%s verified before (size and mtime unchanged), not fetched again", p)
				return Result{Path: p, SHA256: want, Source: "cache", Cached: true}, true
			}
		}
		return Result{}, false
	}
	if res, ok := cached(); ok {
		return res, nil
	}
	if hasRemote(srcs) {
		unlock, err := lockISO(ctx, opts.CacheDir, cfg.OS.ISOFile(), opts)
		if err != nil {
			return Result{}, err
		}
		defer unlock()
		if res, ok := cached(); ok { // another fetch just made it
			return res, nil
		}
	}

	var problems []error
	checkSigned := func() error {
		if signed || cfg.OS.ISOChecksumFile == "" {
			return nil
		}
		if _, err := ensureSignedSums(ctx, cfg, srcs, opts, want); err != nil {
			return err
		}
		signed = true
		return nil
	}

	// A complete file already in the cache but without a matching record
	// (record lost, file touched): hash it rather than download again.
	if hasRemote(srcs) {
		if _, err := os.Stat(final); err == nil {
			if err := checkSigned(); err != nil {
				return Result{}, err
			}
			sum, err := hashfile.FileWithProgress(ctx, final, opts.Out, "iso: verifying cached "+cfg.OS.ISOFile())
			if err != nil {
				return Result{}, err
			}
			if sum == want {
				if err := writeRecord(rec, final, sum, signed); err != nil {
					return Result{}, err
				}
				return Result{Path: final, SHA256: sum, Source: "cache"}, nil
			}
			opts.say("cached %s has sha256 %s, want %s: removing it and fetching again", final, sum, want)
			if err := os.Remove(final); err != nil {
				return Result{}, fmt.Errorf("removing bad cached ISO %q: %w", final, err)
			}
		}
	}

	for _, src := range srcs {
		if src.local != "" {
			if _, err := os.Stat(src.local); err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", src, err))
				continue
			}
			if err := checkSigned(); err != nil {
				return Result{}, err
			}
			sum, err := hashfile.FileWithProgress(ctx, src.local, opts.Out, "iso: verifying "+src.local)
			if err != nil {
				return Result{}, err
			}
			if sum != want {
				problems = append(problems, &MismatchError{Source: src.raw, Path: src.local, Want: want, Got: sum})
				opts.say("%s: sha256 %s, want %s (file left where it is)", src.local, sum, want)
				continue
			}
			if err := writeRecord(rec, src.local, sum, signed); err != nil {
				return Result{}, err
			}
			return Result{Path: src.local, SHA256: sum, Source: src.raw}, nil
		}
		if err := checkSigned(); err != nil {
			return Result{}, err
		}
		res, err := download(ctx, src.url, final, want, opts)
		if err == nil {
			if err := writeRecord(rec, final, want, signed); err != nil {
				return Result{}, err
			}
			return res, nil
		}
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("fetching %q: %w (the partial download is kept and resumed next time)", src.url, ctx.Err())
		}
		if errors.Is(err, syscall.ENOSPC) {
			return Result{}, err // the next mirror would fill the disk too
		}
		var mm *MismatchError
		if errors.As(err, &mm) {
			opts.say("%v", mm)
		} else {
			opts.say("%s failed: %v", src.url, err)
		}
		problems = append(problems, err)
	}
	return Result{}, fmt.Errorf("fetching the ISO %q of %q: every source failed:\n%w\n%s", cfg.OS.ISOFile(), cfg.OS.VMName, errors.Join(problems...), supplyHint(cfg))
}

// supplyHint says how to supply an ISO that cannot be fetched.
func supplyHint(cfg *config.Config) string {
	return fmt.Sprintf("without network, supply it yourself: mage iso:import %s /path/to/%s (verifies it and puts it in the ISO cache), "+
		"or give its path in \"iso_url\" of %s's \"os\": {%q: {...}}", cfg.OS.VMName, cfg.OS.ISOFile(), config.SiteFile, cfg.OS.VMName)
}

// plan reads what Fetch and Verify need from cfg: the sha256 the ISO must
// have and the sources it may come from, in order. Without iso_checksum the
// sha256 is the one the signed checksum file lists (ensureSignedSums), for
// releases whose ISO is rebuilt under the same name (CentOS Stream's
// "latest") or whose sha256 has no second public source.
func plan(ctx context.Context, cfg *config.Config, opts Options) (want string, srcs []source, err error) {
	if want, err = wantSum(cfg); err != nil {
		return "", nil, err
	}
	if srcs, err = sources(cfg); err != nil {
		return "", nil, err
	}
	if want == "" {
		want, err = ensureSignedSums(ctx, cfg, srcs, opts, "")
	}
	return want, srcs, err
}

// Verify re-hashes the ISO (the cached download, else the first local source
// that exists) and checks it against iso_checksum and, where configured, the
// signed checksum file. It never uses the cache record's shortcut, but
// refreshes the record when the ISO is good. A bad cached download is
// removed; a bad local file is left where it is.
func Verify(ctx context.Context, cfg *config.Config, opts Options) (_ Result, err error) {
	defer func() { err = redact.Error(err) }()
	opts = opts.withDefaults(cfg)
	want, srcs, err := plan(ctx, cfg, opts)
	if err != nil {
		return Result{}, err
	}
	final := filepath.Join(opts.CacheDir, cfg.OS.ISOFile())
	rec := recordPath(opts.CacheDir, cfg.OS.ISOFile())
	if hasRemote(srcs) { // a fetch may be writing (or removing) the cached file
		unlock, err := lockISO(ctx, opts.CacheDir, cfg.OS.ISOFile(), opts)
		if err != nil {
			return Result{}, err
		}
		defer unlock()
	}
	var path string
	for _, p := range candidatePaths(final, srcs) {
		if _, err := os.Stat(p); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		return Result{}, fmt.Errorf("verifying the ISO of %q: not found at %s; run mage iso:fetch %s first (offline: mage iso:import %s <path>)", cfg.OS.VMName, strings.Join(candidatePaths(final, srcs), ", "), cfg.OS.VMName, cfg.OS.VMName)
	}
	if cfg.OS.ISOChecksumFile != "" && cfg.OS.ISOChecksum != "" {
		if _, err := ensureSignedSums(ctx, cfg, srcs, opts, want); err != nil {
			return Result{}, err
		}
	}
	sum, err := hashfile.FileWithProgress(ctx, path, opts.Out, "iso: verifying "+path)
	if err != nil {
		return Result{}, err
	}
	if sum != want {
		os.Remove(rec)
		mm := &MismatchError{Source: path, Path: path, Want: want, Got: sum}
		if path == final {
			if err := os.Remove(final); err != nil {
				return Result{}, fmt.Errorf("%w; removing it: %v", mm, err)
			}
			return Result{}, fmt.Errorf("%w (removed; fetch it again)", mm)
		}
		return Result{}, mm
	}
	if err := writeRecord(rec, path, sum, cfg.OS.ISOChecksumFile != ""); err != nil {
		return Result{}, err
	}
	return Result{Path: path, SHA256: sum, Source: path}, nil
}

// MismatchError is an ISO whose sha256 is not iso_checksum.
type MismatchError struct {
	Source string // mirror URL or path that supplied the data
	Path   string // file that was hashed
	Want   string
	Got    string
}

// Error names the file, the source and both sums.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("checksum mismatch for %q from %s: expected sha256 %s, got %s", filepath.Base(e.Path), e.Source, e.Want, e.Got)
}

// candidatePaths are the files a verified ISO may be at: the cache first
// (where downloads and iso:import put it), then each local source.
func candidatePaths(final string, srcs []source) []string {
	ps := []string{final}
	for _, s := range srcs {
		if s.local != "" {
			ps = append(ps, s.local)
		}
	}
	return ps
}

func hasRemote(srcs []source) bool {
	for _, s := range srcs {
		if s.url != "" {
			return true
		}
	}
	return false
}

// FetchFunc adapts Fetch to pipeline.Deps.FetchISO: it returns the verified
// ISO's path and sha256.
func FetchFunc(cfg *config.Config, opts Options) func(ctx context.Context) (isoPath, sha256 string, err error) {
	return func(ctx context.Context) (string, string, error) {
		res, err := Fetch(ctx, cfg, opts)
		return res.Path, res.SHA256, err
	}
}
