package iso

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/uploadtest"
)

// testKey is a throwaway signing key made with gpg for one test.
type testKey struct {
	home string // GNUPGHOME holding the secret key
	fp   string // primary fingerprint
	file string // armored public key
}

func gpgT(t *testing.T, home string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--batch", "--no-tty", "--homedir", home}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func newTestKey(t *testing.T, uid string) testKey {
	t.Helper()
	home, err := os.MkdirTemp("", "isokey") // short: gpg-agent's socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	gpgT(t, home, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
	fps := primaryFingerprints(string(gpgT(t, home, "--with-colons", "--fingerprint", "--list-keys")))
	if len(fps) != 1 {
		t.Fatalf("generated key: fingerprints %v", fps)
	}
	file := filepath.Join(t.TempDir(), "key.asc")
	if err := os.WriteFile(file, gpgT(t, home, "--armor", "--export", fps[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	return testKey{home: home, fp: fps[0], file: file}
}

func (k testKey) clearsign(t *testing.T, text string) []byte {
	t.Helper()
	in := filepath.Join(t.TempDir(), "sums.txt")
	os.WriteFile(in, []byte(text), 0o644)
	return gpgT(t, k.home, "--pinentry-mode", "loopback", "--passphrase", "", "--local-user", k.fp, "--clearsign", "--output", "-", in)
}

// spaced writes a fingerprint in groups of four, as DESIGN.md does.
func spaced(fp string) string {
	var parts []string
	for i := 0; i < len(fp); i += 4 {
		parts = append(parts, fp[i:i+4])
	}
	return strings.Join(parts, " ")
}

func TestCheckSignedChecksum(t *testing.T) {
	good := newTestKey(t, "ISO Test <iso@test.invalid>")
	other := newTestKey(t, "Someone Else <else@test.invalid>")
	_, sum := newData(t, 32)
	_, otherSum := newData(t, 32)
	text := otherSum + "  test-DVD.iso\n" + sum + "  test-minimal.iso\n"
	signed := good.clearsign(t, text)
	tampered := bytes.Replace(signed, []byte(sum[:8]), []byte(otherSum[:8]), 1)

	for _, tc := range []struct {
		name    string
		asc     []byte
		keyFile string
		fp      string
		want    string
		wantErr string
	}{
		{"GoodSignatureAndLine", signed, good.file, spaced(good.fp), sum, ""},
		{"TamperedText", tampered, good.file, good.fp, otherSum[:8] + sum[8:], "checking the signature"},
		{"SignedByAnotherKey", other.clearsign(t, text), good.file, good.fp, sum, "checking the signature"},
		{"KeyFileIsNotTheConfiguredKey", signed, other.file, good.fp, sum, "want fingerprint " + good.fp},
		{"LineDisagreesWithISOChecksum", signed, good.file, good.fp, otherSum, "but iso_checksum is " + otherSum},
		{"NoLineForTheISO", good.clearsign(t, otherSum+"  test-DVD.iso\n"), good.file, good.fp, sum, `no line for "test-minimal.iso"`},
		{"NotSignedAtAll", []byte(text), good.file, good.fp, sum, "checking the signature"},
		{"BSDFormatAsRockyAndAlmaLinuxSignIt", good.clearsign(t, "# test-DVD.iso: 1024 bytes\nSHA256 (test-DVD.iso) = "+otherSum+"\n# test-minimal.iso: 2048 bytes\nSHA256 (test-minimal.iso) = "+strings.ToUpper(sum)+"\n"), good.file, good.fp, sum, ""},
		{"BSDLineForAnotherISOOnly", good.clearsign(t, "SHA256 (test-minimal.iso.manifest) = "+sum+"\n"), good.file, good.fp, sum, `no line for "test-minimal.iso"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSignedChecksum(context.Background(), tc.asc, tc.keyFile, tc.fp, "test-minimal.iso", tc.want)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("no error, want one containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestFetchChecksSignedChecksumFileBeforeDownloading(t *testing.T) {
	key := newTestKey(t, "ISO Test <iso@test.invalid>")
	data, sum := newData(t, 256<<10)
	signed := key.clearsign(t, sum+"  test-minimal.iso\n")
	tampered := bytes.Replace(signed, []byte(sum[:8]), []byte("00000000"), 1)

	for _, tc := range []struct {
		name    string
		asc     []byte
		wantErr bool
	}{
		{"GoodSignature", signed, false},
		{"TamperedChecksumFile", tampered, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &isoServer{data: data, name: "test-minimal.iso", extra: map[string][]byte{"sha256sum.txt.asc": tc.asc}}
			srv := s.start(t)
			cfg := testConfig(t, sum, s.url(srv))
			cfg.OS.ISOChecksumFile, cfg.OS.ISOSigningKey, cfg.OS.ISOSigningKeyFP = "sha256sum.txt.asc", key.file, key.fp
			opts := fastOptions(t)
			res, err := fetch(t, cfg, opts)
			if !tc.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				assertISO(t, res, data, sum)
				// The cache record says the signature was verified (the
				// build record quotes it).
				if v, ok := CacheRecord(opts.CacheDir, cfg.OS.ISOFile()); !ok || !v.Signed || v.SHA256 != sum {
					t.Errorf("cache record %+v (found %v), want sha256 %s and signed", v, ok, sum)
				}
				// Verify checks the cached signed file again, offline.
				srv.Close()
				if _, err := Verify(context.Background(), cfg, opts); err != nil {
					t.Fatalf("Verify with the server gone: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "signature") {
				t.Fatalf("err = %v, want a signature error", err)
			}
			if s.isoGETs.Load() != 0 {
				t.Errorf("the ISO was downloaded although its checksum file failed the signature check")
			}
		})
	}
}

// Without iso_checksum the sha256 is the one the signed checksum file
// lists (CentOS Stream's "latest" ISO, releases with one public source):
// a good signature lets the download be checked against it, a bad one
// stops before the ISO is downloaded, and an ISO that is not the listed
// one is refused.
func TestFetchTakesTheSHA256FromTheSignedChecksumFile(t *testing.T) {
	key := newTestKey(t, "ISO Test <iso@test.invalid>")
	data, sum := newData(t, 256<<10)
	_, otherSum := newData(t, 32)
	bsd := func(sum string) string {
		return "# test-minimal.iso: 262144 bytes\nSHA256 (test-minimal.iso) = " + sum + "\n"
	}
	signed := key.clearsign(t, bsd(sum))
	for _, tc := range []struct {
		name    string
		asc     []byte
		wantErr string
		gets    bool // the ISO is downloaded
	}{
		{"GoodSignature", signed, "", true},
		{"TamperedChecksumFile", bytes.Replace(signed, []byte(sum[:8]), []byte("00000000"), 1), "signature", false},
		{"ListsAnotherISO", key.clearsign(t, bsd(otherSum)), "sha256", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &isoServer{data: data, name: "test-minimal.iso", extra: map[string][]byte{"CHECKSUM": tc.asc}}
			srv := s.start(t)
			cfg := testConfig(t, "", s.url(srv))
			cfg.OS.ISOChecksumFile, cfg.OS.ISOSigningKey, cfg.OS.ISOSigningKeyFP = "CHECKSUM", key.file, key.fp
			opts := fastOptions(t)
			res, err := fetch(t, cfg, opts)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr == "":
				assertISO(t, res, data, sum)
				srv.Close()
				if again, err := fetch(t, cfg, opts); err != nil || !again.Cached {
					t.Errorf("second fetch with the server gone: cached=%v, err=%v; want the cached, signed file to suffice", again.Cached, err)
				}
			case err == nil || !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
			if got := s.isoGETs.Load() > 0; got != tc.gets {
				t.Errorf("ISO downloaded: %v, want %v", got, tc.gets)
			}
		})
	}
}

// The shipped CentOS key must be the key DESIGN.md names, and the OS
// definitions must name that fingerprint.
func TestShippedCentOSKeyHasTheConfiguredFingerprint(t *testing.T) {
	root, _ := filepath.Abs("../..")
	for _, vm := range []string{"CentOS-7.9.2009", "CentOS-7.6.1810"} {
		cfg, err := config.Load(root, vm, func(string) string { return "" }, config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		const designFP = "6341AB2753D78A78A7C27BB124C6A8A7F4A80EB5"
		if got := strings.ReplaceAll(cfg.OS.ISOSigningKeyFP, " ", ""); got != designFP {
			t.Errorf("%s: iso_signing_key_fingerprint %q, want %s", vm, cfg.OS.ISOSigningKeyFP, designFP)
		}
		fps, err := KeyFingerprints(context.Background(), filepath.Join(root, cfg.OS.ISOSigningKey))
		if err != nil {
			t.Fatal(err)
		}
		if len(fps) != 1 || fps[0] != designFP {
			t.Errorf("%s: %s holds keys %v, want exactly %s", vm, cfg.OS.ISOSigningKey, fps, designFP)
		}
	}
}

// Every shipped signing key must hold exactly the key whose fingerprint its
// vendor documents, and every OS definition that names it must say that
// fingerprint. The fingerprints come from the vendors' own documents,
// not from the key files: Rocky 8 from rockylinux.org's GPG key page and
// the rocky-linux/checksums repository's keys/fingerprints, Rocky 10 from
// that keys/fingerprints file (templates/README.md lists the sources).
func TestShippedSigningKeysAreTheVendorsDocumentedKeys(t *testing.T) {
	root, _ := filepath.Abs("../..")
	documented := map[string]string{
		"templates/gpg/RPM-GPG-KEY-CentOS-7": "6341AB2753D78A78A7C27BB124C6A8A7F4A80EB5",
		"templates/gpg/RPM-GPG-KEY-Rocky-8":  "7051C470A929F454CEBE37B715AF5DAC6D745A60",
		"templates/gpg/RPM-GPG-KEY-Rocky-10": "55AF04D9A30C2ADDDC2285DDD8BE58F945A8B0F7",
	}
	files, _ := filepath.Glob(filepath.Join(root, "templates/gpg/*"))
	if len(files) != len(documented) {
		t.Errorf("templates/gpg holds %d files, want the %d with documented fingerprints", len(files), len(documented))
	}
	for file, want := range documented {
		fps, err := KeyFingerprints(context.Background(), filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		if len(fps) != 1 || fps[0] != want {
			t.Errorf("%s holds keys %v, want exactly %s", file, fps, want)
		}
	}
	names, err := config.Available(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, vm := range names {
		cfg, err := config.Load(root, vm, func(string) string { return "" }, config.Options{AllowMissingISO: true})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.OS.ISOSigningKey == "" {
			continue
		}
		want, ok := documented[cfg.OS.ISOSigningKey]
		if got := strings.ReplaceAll(cfg.OS.ISOSigningKeyFP, " ", ""); !ok || got != want {
			t.Errorf("%s: iso_signing_key %q with fingerprint %q; want a shipped key with its documented fingerprint", vm, cfg.OS.ISOSigningKey, cfg.OS.ISOSigningKeyFP)
		}
	}
}

// TestAChecksumFileThatStopsHalfwayIsGivenUpOn: the download's stall watch
// reads only the ISO, so a mirror that stops in the middle of the checksum
// file would hang the fetch; it is given up after StallTimeout.
func TestAChecksumFileThatStopsHalfwayIsGivenUpOn(t *testing.T) {
	key := newTestKey(t, "ISO Test <iso@test.invalid>")
	data, sum := newData(t, 64<<10)
	s := &isoServer{data: data, name: "test-minimal.iso", extra: map[string][]byte{"sha256sum.txt.asc": key.clearsign(t, sum+"  test-minimal.iso\n")}, stallExtra: true}
	srv := s.start(t)
	cfg := testConfig(t, sum, s.url(srv))
	cfg.OS.ISOChecksumFile, cfg.OS.ISOSigningKey, cfg.OS.ISOSigningKeyFP = "sha256sum.txt.asc", key.file, key.fp
	opts := fastOptions(t)
	opts.StallTimeout = 200 * time.Millisecond
	uploadtest.GivesUp(t, func() error {
		_, err := Fetch(t.Context(), cfg, opts)
		return err
	})
	if s.isoGETs.Load() != 0 {
		t.Errorf("the ISO was downloaded although its checksum file never came")
	}
}
