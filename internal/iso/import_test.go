package iso

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// offlineServer is a mirror that is down: every request gets 503.
func offlineServer(t *testing.T) (url string, requests func() int64) {
	s := &isoServer{name: "test-minimal.iso", status: http.StatusServiceUnavailable}
	srv := s.start(t)
	return s.url(srv), s.requests.Load
}

func TestAnUnfetchableISOsErrorSaysHowToSupplyIt(t *testing.T) {
	_, sum := newData(t, 1024)
	url, _ := offlineServer(t)
	opts := fastOptions(t)
	opts.RetryMax = -1
	_, err := fetch(t, testConfig(t, sum, url), opts)
	if err == nil {
		t.Fatal("Fetch from a mirror that is down succeeded")
	}
	for _, want := range []string{"mage iso:import Test-7.9 /path/to/test-minimal.iso", `"iso_url"`, "templates/site.json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

func TestImportedISOIsFoundByFetchWithoutNetwork(t *testing.T) {
	data, sum := newData(t, 512<<10)
	src := filepath.Join(t.TempDir(), "from-usb-disk.iso")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	url, requests := offlineServer(t)
	cfg := testConfig(t, sum, url)
	opts := fastOptions(t)
	var out bytes.Buffer
	opts.Out = &out
	res, err := Import(context.Background(), cfg, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(opts.CacheDir, "test-minimal.iso")
	assertISO(t, res, data, sum)
	if res.Path != final {
		t.Errorf("imported to %q, want %q", res.Path, final)
	}
	got, err := fetch(t, cfg, opts)
	if err != nil {
		t.Fatalf("Fetch after the import: %v", err)
	}
	if !got.Cached || got.Path != final || requests() != 0 {
		t.Errorf("Fetch after the import = %+v with %d requests, want a cached hit of %s and none", got, requests(), final)
	}
	if _, err := Verify(context.Background(), cfg, opts); err != nil {
		t.Errorf("Verify of the imported ISO: %v", err)
	}
	again, err := Import(context.Background(), cfg, src, opts)
	if err != nil || !again.Cached {
		t.Errorf("second import = %+v, %v; want it left as it is", again, err)
	}
}

func TestImportOfAWrongISOLeavesTheCacheEmpty(t *testing.T) {
	data, _ := newData(t, 64<<10)
	_, otherSum := newData(t, 8)
	src := filepath.Join(t.TempDir(), "wrong.iso")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := fastOptions(t)
	_, err := Import(context.Background(), testConfig(t, otherSum, "https://mirror.invalid/x.iso"), src, opts)
	var mm *MismatchError
	if !errors.As(err, &mm) || !strings.Contains(err.Error(), `importing "`+src+`"`) {
		t.Fatalf("err = %v, want a checksum mismatch naming the file", err)
	}
	entries, _ := os.ReadDir(opts.CacheDir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("left in the cache: %s", e.Name())
		}
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("the source was touched: %v", err)
	}
}

func TestImportChecksTheSignedChecksumFileBesideTheISO(t *testing.T) {
	key := newTestKey(t, "ISO Test <iso@test.invalid>")
	data, sum := newData(t, 64<<10)
	for _, tc := range []struct {
		name    string
		asc     []byte
		wantErr string
	}{
		{"GoodSignature", key.clearsign(t, sum+"  test-minimal.iso\n"), ""},
		{"TamperedChecksumFile", bytes.Replace(key.clearsign(t, sum+"  test-minimal.iso\n"), []byte(sum[:8]), []byte("00000000"), 1), "signature"},
		{"NoChecksumFile", nil, "the vendor's signed sha256sum.txt.asc from beside the ISO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "CentOS.iso")
			if err := os.WriteFile(src, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.asc != nil {
				if err := os.WriteFile(filepath.Join(dir, "sha256sum.txt.asc"), tc.asc, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg := testConfig(t, sum, "https://mirror.invalid/7.9/test-minimal.iso")
			cfg.OS.ISOChecksumFile, cfg.OS.ISOSigningKey, cfg.OS.ISOSigningKeyFP = "sha256sum.txt.asc", key.file, key.fp
			opts := fastOptions(t)
			_, err := Import(context.Background(), cfg, src, opts)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
			case tc.wantErr != "":
				if _, err := os.Stat(filepath.Join(opts.CacheDir, "test-minimal.iso")); !os.IsNotExist(err) {
					t.Errorf("an ISO whose checksum file failed is in the cache (%v)", err)
				}
				return
			}
			// Offline afterwards: the signed file verified was cached too.
			if _, err := Verify(context.Background(), cfg, opts); err != nil {
				t.Errorf("Verify offline after the import: %v", err)
			}
		})
	}
}
