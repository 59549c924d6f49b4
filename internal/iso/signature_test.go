package iso

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gold-standard-images/internal/config"
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
