package iso

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/hashfile"
	"gold-standard-images/internal/progress"
	"gold-standard-images/internal/redact"
	"gold-standard-images/internal/sparse"
)

// Import puts the local ISO file at src into the cache, verified, where
// Fetch then finds it without network (an air-gapped site brings the ISO
// on a disk). The sha256 must be cfg's iso_checksum; where the definition
// names a signed checksum file, its copy in the cache or the one beside src
// must verify too. The ISO is copied under a temporary name and renamed
// into the cache only once its sha256 matched; an ISO already cached and
// verified is left as it is. The ISO is hashed before anything is written
// (a wrong one writes nothing), the cache's free space is checked against
// the ISO's data, and the copy is sparse (blocks of zeros take no space).
func Import(ctx context.Context, cfg *config.Config, src string, opts Options) (_ Result, err error) {
	defer func() { err = redact.Error(err) }()
	opts = opts.withDefaults(cfg)
	fail := func(err error) (Result, error) {
		return Result{}, fmt.Errorf("importing %q as the ISO of %q: %w", src, cfg.OS.VMName, err)
	}
	want, err := wantSum(cfg)
	if err != nil {
		return Result{}, err
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return fail(err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return fail(err)
	}
	if !info.Mode().IsRegular() {
		return fail(errors.New("not a regular file"))
	}
	final := filepath.Join(opts.CacheDir, cfg.OS.ISOFile())
	rec := recordPath(opts.CacheDir, cfg.OS.ISOFile())
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return fail(err)
	}
	unlock, err := lockISO(ctx, opts.CacheDir, cfg.OS.ISOFile(), opts)
	if err != nil {
		return fail(err)
	}
	defer unlock()
	if cfg.OS.ISOChecksumFile != "" {
		beside := source{raw: abs, local: abs}
		got, err := ensureSignedSums(ctx, cfg, []source{beside}, opts, want)
		if err != nil {
			return fail(fmt.Errorf("%w\n(iso:import reads the vendor's signed %s from beside the ISO: %s)", err, path.Base(cfg.OS.ISOChecksumFile), filepath.Join(filepath.Dir(abs), path.Base(cfg.OS.ISOChecksumFile))))
		}
		want = got // the signed file gives the sha256 where iso_checksum is empty
	}
	if recorded(rec, final, want) {
		opts.say("%s is in the cache and verified already, left as it is", final)
		return Result{Path: final, SHA256: want, Source: "cache", Cached: true}, nil
	}
	sum, err := hashfile.FileWithProgress(ctx, abs, opts.Out, "iso: verifying "+filepath.Base(abs))
	if err != nil {
		return fail(err)
	}
	if sum != want {
		return fail(&MismatchError{Source: src, Path: abs, Want: want, Got: sum})
	}
	if err := roomFor(abs, opts.CacheDir); err != nil {
		return fail(err)
	}
	if sum, err = copyHashed(ctx, abs, final, want, info.Size(), opts); err != nil {
		return fail(err)
	}
	if sum != want {
		return fail(fmt.Errorf("it changed while it was copied (sha256 %s, then %s): the copy was removed", want, sum))
	}
	if err := writeRecord(rec, final, sum, cfg.OS.ISOChecksumFile != ""); err != nil {
		return fail(err)
	}
	opts.say("%s imported into %s, sha256 %s", src, final, sum)
	return Result{Path: final, SHA256: sum, Source: src}, nil
}

// roomFor refuses to copy src into dir when dir's file system has less
// free space than src's data takes.
func roomFor(src, dir string) error {
	free, ok := freeSpace(dir)
	need := sparse.Allocated(src)
	if ok && free < need {
		return fmt.Errorf("the ISO cache %q has %s free, the ISO needs %s: free some space or set ISO_CACHE to a folder with more", dir, progress.Bytes(free), progress.Bytes(need))
	}
	return nil
}

// copyHashed copies src to final through a temporary name, sparse, hashing
// it on the way, and returns its sha256; the copy is renamed into place
// only when that is want, else removed.
func copyHashed(ctx context.Context, src, final, want string, size int64, opts Options) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := atomicfile.Create(final, 0o644)
	if err != nil {
		return "", err
	}
	defer out.Abort()
	var meter io.Writer = io.Discard
	if opts.Out != nil {
		m := progress.New(opts.Out, "iso: importing "+filepath.Base(final), size, 0)
		defer m.Done()
		meter = m
	}
	h := sha256.New()
	hw := hashfile.NewWriter(h)
	err = sparse.Write(ctx, out.File, io.TeeReader(in, io.MultiWriter(hw, meter)), size)
	if cerr := hw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("copying into %q: %w", final, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if sum != want {
		return sum, nil
	}
	return sum, out.Commit()
}
