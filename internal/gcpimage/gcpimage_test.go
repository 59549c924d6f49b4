package gcpimage

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"golang.org/x/oauth2"
	compute "google.golang.org/api/compute/v1"
	"google.golang.org/api/option"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/uploadtest"
)

func testData(seed uint64, size int) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func testConfig(t *testing.T, data []byte) *config.Config {
	t.Helper()
	cfg := uploadtest.Config(t)
	if data != nil {
		writeTarball(t, cfg, data)
	}
	return cfg
}

func writeTarball(t *testing.T, cfg *config.Config, data []byte) string {
	return uploadtest.WriteArtifact(t, cfg, Source(cfg), data)
}

func testOptions(gcs *fakeGCS, t *testing.T) Options {
	return Options{
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "test-token"}),
		Storage:      gcs.client(t),
		ChunkSize:    256 << 10,
		RetryDelay:   time.Millisecond,
		PollInterval: time.Millisecond,
	}
}

func testSettings(gce *fakeCompute) Settings {
	return Settings{Project: testProject, Bucket: testBucket, ComputeEndpoint: gce.URL + "/compute/v1/", Timeout: time.Minute}
}

func TestPublishUploadsMakesTheImageAndRerunSendsNothing(t *testing.T) {
	gcs, gce := newFakeGCS(t), newFakeCompute(t)
	gce.faults["POST images"] = []int{http.StatusTooManyRequests, http.StatusServiceUnavailable}
	gce.faults["GET operations"] = []int{http.StatusInternalServerError}
	data := testData(1, 700<<10)
	cfg := testConfig(t, data)
	var out bytes.Buffer
	o := testOptions(gcs, t)
	o.Out = &out
	s := testSettings(gce)

	res, err := Publish(context.Background(), cfg, s, o)
	if err != nil {
		t.Fatalf("Publish: %v\n%s", err, out.String())
	}
	object := "CentOS-7.9.2009-1.0.0_gcp.tar.gz"
	got, err := gcs.server.GetObject(testBucket, object)
	if err != nil || !bytes.Equal(got.Content, data) {
		t.Fatalf("object %s: err %v, identical %v", object, err, bytes.Equal(got.Content, data))
	}
	if res.Skipped || res.Existed || res.Image != "projects/gold-123/global/images/centos-7-9-2009-1-0-0-gcp" || res.Object != "gs://images/"+object {
		t.Errorf("result %+v", res)
	}
	body := gce.inserted
	labels := body["labels"].(map[string]any)
	features := body["guestOsFeatures"].([]any)
	if body["name"] != "centos-7-9-2009-1-0-0-gcp" || body["family"] != "centos-7-9-2009" ||
		body["rawDisk"].(map[string]any)["source"] != "https://storage.googleapis.com/images/"+object ||
		labels["version"] != "1-0-0" || labels["vm_name"] != "centos-7-9-2009" ||
		len(features) != 1 || features[0].(map[string]any)["type"] != "VIRTIO_SCSI_MULTIQUEUE" {
		t.Errorf("images.insert body %v", body)
	}
	if gce.inserts != 1 {
		t.Errorf("%d images inserted, want 1 though the insert was retried", gce.inserts)
	}
	for _, want := range []string{"gcs: gs://images/" + object, "creating image centos-7-9-2009-1-0-0-gcp", "image centos-7-9-2009-1-0-0-gcp created"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lines do not say %q:\n%s", want, out.String())
		}
	}

	uploads := gcs.uploads.Load()
	res, err = Publish(context.Background(), cfg, s, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Skipped || !res.Existed || gcs.uploads.Load() != uploads || gce.inserts != 1 {
		t.Errorf("second run: %+v, %d more upload requests, %d inserts; want nothing sent", res, gcs.uploads.Load()-uploads, gce.inserts)
	}
}

func TestAnUploadCutOffMidwayIsResumedNotRestarted(t *testing.T) {
	gcs := newFakeGCS(t)
	gcs.cutChunk.Store(2)
	const chunk = 256 << 10
	data := testData(2, 4*chunk+1000)
	cfg := testConfig(t, data)
	o := testOptions(gcs, t)
	skipped, err := Upload(context.Background(), o.Storage, filepath.Join(cfg.Root, Source(cfg)), Settings{Bucket: testBucket}, "cut.tar.gz", o)
	if err != nil || skipped {
		t.Fatalf("Upload: skipped=%v err=%v", skipped, err)
	}
	got, err := gcs.server.GetObject(testBucket, "cut.tar.gz")
	if err != nil || !bytes.Equal(got.Content, data) {
		t.Fatalf("object: err %v, identical %v", err, bytes.Equal(got.Content, data))
	}
	if gcs.cuts.Load() != 1 {
		t.Fatalf("%d connections cut, want 1", gcs.cuts.Load())
	}
	if sent, want := gcs.sentBytes.Load(), int64(len(data)+chunk/2); sent != want {
		t.Errorf("sent %d bytes, want %d: the file once plus the half chunk that was cut", sent, want)
	}
}

func TestUploadReplacesAnObjectWithOtherContent(t *testing.T) {
	gcs := newFakeGCS(t)
	cfg := testConfig(t, nil)
	o := testOptions(gcs, t)
	for i, data := range [][]byte{testData(3, 1000), testData(4, 1000), testData(4, 1000)} {
		file := writeTarball(t, cfg, data)
		skipped, err := Upload(context.Background(), o.Storage, file, Settings{Bucket: testBucket}, "x.tar.gz", o)
		if err != nil || skipped != (i == 2) {
			t.Fatalf("upload %d: skipped=%v err=%v", i, skipped, err)
		}
		if got, _ := gcs.server.GetObject(testBucket, "x.tar.gz"); !bytes.Equal(got.Content, data) {
			t.Errorf("upload %d: object differs", i)
		}
	}
}

func TestPublishStopsWithOneClearLine(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, gce *fakeCompute, cfg *config.Config, s *Settings, o *Options)
		want    string
	}{
		{"every missing variable and the missing artifact named at once", func(t *testing.T, gce *fakeCompute, cfg *config.Config, s *Settings, o *Options) {
			*s = Settings{}
			os.Remove(filepath.Join(cfg.Root, Source(cfg)))
		}, `publishing to GCP: set GCP_PROJECT (e.g. GCP_PROJECT=my-project-123456), GCS_BUCKET (e.g. GCS_BUCKET=my-images-bucket); artifact "artifacts/1.0.0/CentOS-7.9.2009/gcp/CentOS-7.9.2009-1.0.0_gcp.tar.gz" not found: build it first: ONLY=gcp mage build:os CentOS-7.9.2009`},
		{"unknown firmware", func(t *testing.T, gce *fakeCompute, cfg *config.Config, s *Settings, o *Options) {
			cfg.OS.Firmware = "efi"
		}, `publishing to GCP: firmware "efi": want bios or uefi`},
		{"expired or wrong credentials", func(t *testing.T, gce *fakeCompute, cfg *config.Config, s *Settings, o *Options) {
			o.TokenSource = failingTokens{&oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: "Token has been expired or revoked."}}
		}, `publishing to GCP: getting a token: Google refused the credentials (invalid_grant; expired or wrong): run gcloud auth application-default login, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file`},
		{"bucket missing", func(t *testing.T, gce *fakeCompute, cfg *config.Config, s *Settings, o *Options) {
			s.Bucket = "nobucket"
		}, `publishing to GCP: bucket "nobucket" does not exist: create it with: gcloud storage buckets create gs://nobucket --project gold-123 --location <region>`},
		{"no permission to create images", func(t *testing.T, gce *fakeCompute, cfg *config.Config, s *Settings, o *Options) {
			gce.faults["POST images"] = []int{http.StatusForbidden}
		}, `publishing to GCP: creating image "centos-7-9-2009-1-0-0-gcp": HTTP 403 forbidden: Required 'compute.images.create' permission for 'projects/gold-123/global/images/x' (the credentials need roles/compute.storageAdmin (or compute.images.create) in the project)`},
		{"a token the Compute API refuses", func(t *testing.T, gce *fakeCompute, cfg *config.Config, s *Settings, o *Options) {
			o.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "stale"})
		}, `publishing to GCP: reading image "centos-7-9-2009-1-0-0-gcp": HTTP 401 authError: Request had invalid authentication credentials. (run gcloud auth application-default login, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file)`},
		{"a failed insert says Google's reason", func(t *testing.T, gce *fakeCompute, cfg *config.Config, s *Settings, o *Options) {
			gce.opError = "INVALID_IMAGE_FILE"
		}, `publishing to GCP: creating image "centos-7-9-2009-1-0-0-gcp" failed: INVALID_IMAGE_FILE: The image file is not a gzip tar of disk.raw`},
		{"an insert past the timeout", func(t *testing.T, gce *fakeCompute, cfg *config.Config, s *Settings, o *Options) {
			gce.forever = true
			s.Timeout = 50 * time.Millisecond
		}, `publishing to GCP: image "centos-7-9-2009-1-0-0-gcp" not done after 50ms (GCP_IMAGE_TIMEOUT sets the limit); it goes on in GCP: gcloud compute operations describe operation-1 --global --project gold-123`},
		{"an image of that name from another file", func(t *testing.T, gce *fakeCompute, cfg *config.Config, s *Settings, o *Options) {
			gce.images["centos-7-9-2009-1-0-0-gcp"] = map[string]any{"name": "centos-7-9-2009-1-0-0-gcp", "status": "READY", "rawDisk": map[string]any{"source": "https://storage.googleapis.com/other/x.tar.gz"}}
		}, `publishing to GCP: image "centos-7-9-2009-1-0-0-gcp" exists but was made from another file (https://storage.googleapis.com/other/x.tar.gz, status READY); delete it (gcloud compute images delete centos-7-9-2009-1-0-0-gcp --project gold-123) or publish another version`},
		{"an image of that name that failed", func(t *testing.T, gce *fakeCompute, cfg *config.Config, s *Settings, o *Options) {
			gce.images["centos-7-9-2009-1-0-0-gcp"] = map[string]any{"name": "centos-7-9-2009-1-0-0-gcp", "status": "FAILED", "rawDisk": map[string]any{"source": "https://storage.googleapis.com/images/CentOS-7.9.2009-1.0.0_gcp.tar.gz"}}
		}, `publishing to GCP: image "centos-7-9-2009-1-0-0-gcp" exists with status FAILED; wait for it, or delete it (gcloud compute images delete centos-7-9-2009-1-0-0-gcp --project gold-123) or publish another version`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gcs, gce := newFakeGCS(t), newFakeCompute(t)
			cfg := testConfig(t, testData(5, 1000))
			s, o := testSettings(gce), testOptions(gcs, t)
			tt.prepare(t, gce, cfg, &s, &o)
			_, err := Publish(context.Background(), cfg, s, o)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant  %s", err, tt.want)
			}
			// Only the image's creation itself fails after the upload.
			afterUpload := strings.Contains(tt.want, "creating image") || strings.Contains(tt.want, "not done after")
			if n := gcs.uploads.Load(); (n > 0) != afterUpload {
				t.Errorf("%d upload requests; want an upload only when the creation itself fails", n)
			}
		})
	}
}

// failingTokens is a TokenSource that fails with err.
type failingTokens struct{ err error }

func (f failingTokens) Token() (*oauth2.Token, error) { return nil, f.err }

func TestWithoutCredentialsTheDefaultChainFailsInOneLine(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	os.Unsetenv("GOOGLE_APPLICATION_CREDENTIALS")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	cfg := testConfig(t, testData(6, 100))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Publish(ctx, cfg, Settings{Project: testProject, Bucket: testBucket}, Options{})
	want := "publishing to GCP: no Google credentials found: run gcloud auth application-default login, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
}

func TestNamesFollowTheRules(t *testing.T) {
	for _, tt := range []struct{ in, image, label string }{
		{"CentOS-7.9.2009-1.0.0", "centos-7-9-2009-1-0-0", "centos-7-9-2009-1-0-0"},
		// The original's `tr [_.] - | tr [A-Z] [a-z]` of its image name.
		{"CentOS-7.9.2009-1.0.0_gcp", "centos-7-9-2009-1-0-0-gcp", "centos-7-9-2009-1-0-0_gcp"},
		{"RedHat_7.9", "redhat-7-9", "redhat_7-9"},
		{"7even", "image-7even", "7even"},
		{strings.Repeat("Ab.", 30), "ab-" + strings.Repeat("ab-", 19) + "ab", strings.Repeat("ab-", 21)},
	} {
		if got := ImageName(tt.in); got != tt.image || len(got) > 63 {
			t.Errorf("ImageName(%q) = %q, want %q", tt.in, got, tt.image)
		}
		if got := LabelValue(tt.in); got != tt.label {
			t.Errorf("LabelValue(%q) = %q, want %q", tt.in, got, tt.label)
		}
	}
}

func TestGuestOSFeaturesFollowTheFirmware(t *testing.T) {
	for _, tt := range []struct {
		firmware string
		want     string
	}{{"", "VIRTIO_SCSI_MULTIQUEUE"}, {"bios", "VIRTIO_SCSI_MULTIQUEUE"}, {"uefi", "VIRTIO_SCSI_MULTIQUEUE UEFI_COMPATIBLE"}} {
		got, err := GuestOSFeatures(tt.firmware)
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("GuestOSFeatures(%q) = %v, %v; want %s", tt.firmware, got, err, tt.want)
		}
	}
}

func TestSettingsFromEnv(t *testing.T) {
	env := map[string]string{"GCP_PROJECT": "p", "GCS_BUCKET": "b", "GCP_IMAGE_FAMILY": "centos-7", "GCE_ENDPOINT": "http://127.0.0.1:9/compute/v1/", "GCP_IMAGE_TIMEOUT": "2h"}
	s, err := SettingsFromEnv(config.Defaults(), func(k string) string { return env[k] })
	want := Settings{Project: "p", Bucket: "b", Family: "centos-7", ComputeEndpoint: "http://127.0.0.1:9/compute/v1/", Timeout: 2 * time.Hour}
	if err != nil || s != want {
		t.Errorf("SettingsFromEnv = %+v, %v; want %+v", s, err, want)
	}
	env["GCP_IMAGE_TIMEOUT"] = "later"
	if _, err := SettingsFromEnv(config.Defaults(), func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), `GCP_IMAGE_TIMEOUT="later"`) {
		t.Errorf("bad timeout: err = %v", err)
	}
}

func TestResultStringIsTheLineUploadGcpPrints(t *testing.T) {
	r := Result{Object: "gs://b/x.tar.gz", Skipped: true, Image: "projects/p/global/images/x"}
	if got, want := r.String(), "projects/p/global/images/x from gs://b/x.tar.gz, upload skipped: true"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestTheStorageLibraryTakesTheEmulatorFromStorageEmulatorHost(t *testing.T) {
	gcs, gce := newFakeGCS(t), newFakeCompute(t)
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(gcs.proxy.URL, "http://"))
	data := testData(7, 3000)
	cfg := testConfig(t, data)
	o := Options{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "test-token"}), RetryDelay: time.Millisecond, PollInterval: time.Millisecond}
	if _, err := Publish(context.Background(), cfg, testSettings(gce), o); err != nil {
		t.Fatal(err)
	}
	if got, err := gcs.server.GetObject(testBucket, "CentOS-7.9.2009-1.0.0_gcp.tar.gz"); err != nil || !bytes.Equal(got.Content, data) || gcs.uploads.Load() == 0 {
		t.Errorf("object through STORAGE_EMULATOR_HOST: err %v, identical %v, %d upload requests", err, bytes.Equal(got.Content, data), gcs.uploads.Load())
	}
}

// TestAStalledServerIsGivenUpOnNotWaitedForForever: the Google libraries
// bound no call by default, so an API that takes the request and never
// answers would hang the upload; each call is bounded instead.
func TestAStalledServerIsGivenUpOnNotWaitedForForever(t *testing.T) {
	defer func(d time.Duration) { callTimeout = d }(callTimeout)
	callTimeout = 200 * time.Millisecond
	stalled := uploadtest.StalledServer(t)
	o := Options{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "test-token"}), RetryDelay: time.Millisecond}
	s := Settings{Project: testProject, Bucket: testBucket, ComputeEndpoint: stalled.URL + "/compute/v1/"}
	cfg := testConfig(t, testData(5, 64<<10))
	t.Run("the Compute API", func(t *testing.T) {
		uploadtest.GivesUp(t, func() error {
			svc, err := compute.NewService(t.Context(), computeOptions(s, o)...)
			if err != nil {
				return err
			}
			_, err = Existing(t.Context(), svc, s, imageFor(cfg, s, "x.tar.gz", nil), 1, o)
			return err
		})
	})
	t.Run("Cloud Storage", func(t *testing.T) {
		uploadtest.GivesUp(t, func() error {
			client, err := storage.NewClient(t.Context(), option.WithEndpoint(stalled.URL+"/storage/v1/"), option.WithoutAuthentication())
			if err != nil {
				return err
			}
			defer client.Close()
			_, err = Upload(t.Context(), client, filepath.Join(cfg.Root, Source(cfg)), s, "x.tar.gz", o)
			return err
		})
	})
}

func TestTheComputeAPIsRetryAfterIsWaitedOut(t *testing.T) {
	gcs, gce := newFakeGCS(t), newFakeCompute(t)
	gce.faults["POST images"] = []int{http.StatusTooManyRequests}
	gce.faults["GET operations"] = []int{http.StatusServiceUnavailable}
	gce.retryAfter = "1"
	cfg := testConfig(t, testData(4, 64<<10))
	if _, err := Publish(context.Background(), cfg, testSettings(gce), testOptions(gcs, t)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"POST images", "GET operations"} {
		seen := gce.seen[k]
		if len(seen) < 2 {
			t.Fatalf("%s: %d requests, want the fault and a retry", k, len(seen))
		}
		t.Logf("%s: tried again %s after a Retry-After of 1s", k, seen[1].Sub(seen[0]).Round(10*time.Millisecond))
		if gap := seen[1].Sub(seen[0]); gap < time.Second {
			t.Errorf("%s: tried again %s after a Retry-After of 1s", k, gap)
		}
	}
}
