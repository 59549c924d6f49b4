package iso

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/run"
)

// ensureSignedSums checks the distribution's clear-signed checksum file
// (iso_checksum_file, beside the ISO) and returns the sha256 it lists for
// the ISO: its signature must be by the key in iso_signing_key, whose
// fingerprint must be iso_signing_key_fingerprint, and, when want is not
// empty (iso_checksum given), its line for the ISO must say want. A copy
// that verified is kept in the cache and checked again offline next time;
// otherwise each source's copy is tried in order.
func ensureSignedSums(ctx context.Context, cfg *config.Config, srcs []source, opts Options, want string) (string, error) {
	name := cfg.OS.ISOChecksumFile
	cached := filepath.Join(opts.CacheDir, cfg.OS.ISOFile()+"."+path.Base(name))
	keyFile := cfg.OS.ISOSigningKey
	if !filepath.IsAbs(keyFile) {
		keyFile = filepath.Join(cfg.Root, keyFile)
	}
	check := func(data []byte) (string, error) {
		got, err := SignedSum(ctx, data, keyFile, cfg.OS.ISOSigningKeyFP, cfg.OS.ISOFile())
		if err == nil && want != "" && got != want {
			err = fmt.Errorf("the signed checksum file says sha256 %s for %q, but iso_checksum is %s", got, cfg.OS.ISOFile(), want)
		}
		return got, err
	}
	if data, err := os.ReadFile(cached); err == nil {
		if got, err := check(data); err == nil {
			return got, nil
		}
		os.Remove(cached)
	}
	var problems []error
	for _, s := range srcs {
		where, data, err := readBeside(ctx, s, name, opts)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		got, err := check(data)
		if err != nil {
			if errors.Is(err, errKey) { // the key itself is wrong: no mirror can help
				return "", err
			}
			problems = append(problems, fmt.Errorf("%s: %w", where, err))
			opts.say("%s: %v", where, err)
			continue
		}
		opts.say("%s: signature good (key %s), %s listed with sha256 %s", where, cfg.OS.ISOSigningKeyFP, cfg.OS.ISOFile(), got)
		if err := atomicfile.WriteFile(cached, data, 0o644); err != nil {
			return "", err
		}
		return got, nil
	}
	return "", fmt.Errorf("checking the signed checksum file %q of %q:\n%w", name, cfg.OS.VMName, errors.Join(problems...))
}

// readBeside reads file name from the folder of source s.
func readBeside(ctx context.Context, s source, name string, opts Options) (string, []byte, error) {
	if s.local != "" {
		p := filepath.Join(filepath.Dir(s.local), name)
		data, err := os.ReadFile(p)
		return p, data, err
	}
	u := s.url[:strings.LastIndex(s.url, "/")+1] + name
	f := newFetcher(u, "", opts)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return u, nil, err
	}
	resp, err := f.http.Do(req)
	if err != nil {
		return u, nil, fmt.Errorf("downloading %q: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return u, nil, fmt.Errorf("downloading %q: %s", u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return u, nil, fmt.Errorf("downloading %q: %w", u, err)
	}
	return u, data, nil
}

// errKey marks a problem with the signing key file itself.
var errKey = errors.New("signing key")

// CheckSignedChecksum checks that asc (a clear-signed checksum file) carries
// a good signature by the key in keyFile, that keyFile's key has fingerprint
// wantFP (40 hex characters, spaces allowed), and that the signed text lists
// isoFile with sha256 want. It runs gpg and gpgv in a throwaway GNUPGHOME;
// only the signed text, as gpgv outputs it, is read for the checksum.
// gpgTimeout bounds each gpg, gpgv and gpgconf run: they work on a key and
// a checksum file of a few KiB.
const gpgTimeout = time.Minute

func CheckSignedChecksum(ctx context.Context, asc []byte, keyFile, wantFP, isoFile, want string) error {
	got, err := SignedSum(ctx, asc, keyFile, wantFP, isoFile)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("the signed checksum file says sha256 %s for %q, but iso_checksum is %s", got, isoFile, want)
	}
	return nil
}

// SignedSum checks that asc (a clear-signed checksum file) carries a good
// signature by the key in keyFile, whose fingerprint must be wantFP, and
// returns the sha256 the signed text lists for isoFile.
func SignedSum(ctx context.Context, asc []byte, keyFile, wantFP, isoFile string) (string, error) {
	wantFP = strings.ToUpper(strings.ReplaceAll(wantFP, " ", ""))
	home, err := os.MkdirTemp("", "iso-gnupg-*")
	if err != nil {
		return "", err
	}
	defer cleanHome(home)
	gpg := func(stdout io.Writer, args ...string) error {
		return run.Run(ctx, run.Cmd{Name: "gpg", Args: append([]string{"--batch", "--no-tty", "--homedir", home}, args...), Stdout: stdout, Timeout: gpgTimeout, Hint: "gpg stalled (its agent, or a keyserver it was told to reach)"})
	}
	fps, err := importKeys(ctx, home, keyFile)
	if err != nil {
		return "", err
	}
	found := false
	for _, fp := range fps {
		found = found || fp == wantFP
	}
	if !found {
		return "", fmt.Errorf("%w: %q holds key(s) %s, want fingerprint %s (iso_signing_key_fingerprint)", errKey, keyFile, strings.Join(fps, ", "), wantFP)
	}
	trusted := filepath.Join(home, "trusted.gpg")
	var exported bytes.Buffer
	if err := gpg(&exported, "--export", wantFP); err != nil {
		return "", fmt.Errorf("%w: exporting %s: %v", errKey, wantFP, err)
	}
	if err := os.WriteFile(trusted, exported.Bytes(), 0o600); err != nil {
		return "", err
	}
	ascFile := filepath.Join(home, "sums.asc")
	plainFile := filepath.Join(home, "sums.txt")
	if err := os.WriteFile(ascFile, asc, 0o600); err != nil {
		return "", err
	}
	var status bytes.Buffer
	err = run.Run(ctx, run.Cmd{Name: "gpgv", Args: []string{"--homedir", home, "--keyring", trusted, "--status-fd", "1", "--output", plainFile, ascFile}, Stdout: &status, Timeout: gpgTimeout})
	if err != nil {
		return "", fmt.Errorf("checking the signature with key %s: %w", wantFP, err)
	}
	if !validSigBy(status.String(), wantFP) {
		return "", fmt.Errorf("checking the signature with key %s: gpgv reported no valid signature by it:\n%s", wantFP, status.String())
	}
	plain, err := os.ReadFile(plainFile)
	if err != nil {
		return "", fmt.Errorf("reading the signed text: %w", err)
	}
	got, ok := sumFor(plain, isoFile)
	if !ok {
		return "", fmt.Errorf("the signed checksum file has no line for %q", isoFile)
	}
	return got, nil
}

// KeyFingerprints returns the primary key fingerprints (upper-case hex, no
// spaces) of the armored or binary OpenPGP key file keyFile.
func KeyFingerprints(ctx context.Context, keyFile string) ([]string, error) {
	home, err := os.MkdirTemp("", "iso-gnupg-*")
	if err != nil {
		return nil, err
	}
	defer cleanHome(home)
	return importKeys(ctx, home, keyFile)
}

// importKeys imports keyFile into the GNUPGHOME home and lists the primary
// fingerprints now there.
func importKeys(ctx context.Context, home, keyFile string) ([]string, error) {
	gpg := func(stdout io.Writer, args ...string) error {
		return run.Run(ctx, run.Cmd{Name: "gpg", Args: append([]string{"--batch", "--no-tty", "--homedir", home}, args...), Stdout: stdout, Timeout: gpgTimeout, Hint: "gpg stalled (its agent, or a keyserver it was told to reach)"})
	}
	if err := gpg(nil, "--import", keyFile); err != nil {
		return nil, fmt.Errorf("%w: importing %q: %v", errKey, keyFile, err)
	}
	var colons bytes.Buffer
	if err := gpg(&colons, "--with-colons", "--fingerprint", "--list-keys"); err != nil {
		return nil, fmt.Errorf("%w: listing %q: %v", errKey, keyFile, err)
	}
	return primaryFingerprints(colons.String()), nil
}

// primaryFingerprints reads the fingerprints of primary keys from gpg
// --with-colons output (the fpr line right after each pub line).
func primaryFingerprints(colons string) []string {
	var fps []string
	afterPub := false
	for _, line := range strings.Split(colons, "\n") {
		fields := strings.Split(line, ":")
		switch {
		case fields[0] == "pub":
			afterPub = true
		case fields[0] == "fpr" && afterPub && len(fields) > 9:
			fps = append(fps, strings.ToUpper(fields[9]))
			afterPub = false
		case fields[0] != "fpr":
			afterPub = false
		}
	}
	return fps
}

// validSigBy reports whether gpg status output has a VALIDSIG whose primary
// key fingerprint (last field) is fp.
func validSigBy(status, fp string) bool {
	for _, line := range strings.Split(status, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "[GNUPG:]" && f[1] == "VALIDSIG" && strings.EqualFold(f[len(f)-1], fp) {
			return true
		}
	}
	return false
}

// sumFor finds the sha256 of name in checksum text: coreutils format
// ("<hex>  name", CentOS 7) or BSD format ("SHA256 (name) = <hex>", Rocky,
// AlmaLinux, CentOS Stream); "#" lines (Rocky's sizes) are comments.
func sumFor(text []byte, name string) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if m := bsdSumRE.FindStringSubmatch(line); m != nil {
			if m[1] == name {
				return strings.ToLower(m[2]), true
			}
			continue
		}
		sum, file, ok := strings.Cut(line, " ")
		file = strings.TrimLeft(file, " *")
		if ok && file == name && hex64.MatchString(sum) {
			return strings.ToLower(sum), true
		}
	}
	return "", false
}

// bsdSumRE is one line of a BSD-format (`sha256sum --tag`) checksum file.
var bsdSumRE = regexp.MustCompile(`^SHA256 \((.+)\) = ([0-9A-Fa-f]{64})$`)

// cleanHome stops any gpg-agent gpg started for home and removes it.
func cleanHome(home string) {
	run.Run(context.Background(), run.Cmd{Name: "gpgconf", Args: []string{"--homedir", home, "--kill", "all"}, Timeout: gpgTimeout})
	os.RemoveAll(home)
}
