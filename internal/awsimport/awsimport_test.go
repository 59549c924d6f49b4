package awsimport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/hashfile"
	"gold-standard-images/internal/progress"
	"gold-standard-images/internal/uploadtest"
)

const bucket = "gold-images"

// fakeEC2 speaks the EC2 query API for ImportImage,
// DescribeImportImageTasks and CreateTags, and IAM's for GetRole.
type fakeEC2 struct {
	mu        sync.Mutex
	roleError string   // an IAM error code GetRole answers with, if set
	roleTrust string   // the role's trust policy; empty is one trusting vmie.amazonaws.com
	roleAsked string   // RoleName of the last GetRole
	importErr string   // an <Error> body returned by ImportImage, if set
	statuses  []string // "status|message|imageId" returned by successive polls; the last repeats
	polls     int
	imported  url.Values
	tagged    url.Values
}

func (f *fakeEC2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	switch r.Form.Get("Action") {
	case "GetRole":
		f.roleAsked = r.Form.Get("RoleName")
		if f.roleError != "" {
			w.WriteHeader(map[string]int{"NoSuchEntity": http.StatusNotFound, "AccessDenied": http.StatusForbidden}[f.roleError])
			fmt.Fprintf(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s from the fake</Message></Error><RequestId>req-0</RequestId></ErrorResponse>`, f.roleError, f.roleError)
			return
		}
		trust := f.roleTrust
		if trust == "" {
			trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"vmie.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:Externalid":"vmimport"}}}]}`
		}
		fmt.Fprintf(w, `<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/</Path><AssumeRolePolicyDocument>%s</AssumeRolePolicyDocument><RoleId>AROATEST</RoleId><RoleName>%s</RoleName><Arn>arn:aws:iam::123456789012:role/%s</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate></Role></GetRoleResult><ResponseMetadata><RequestId>req-0</RequestId></ResponseMetadata></GetRoleResponse>`,
			url.QueryEscape(trust), f.roleAsked, f.roleAsked)
	case "ImportImage":
		f.imported = r.Form
		if f.importErr != "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>%s</Error></Errors><RequestID>req-1</RequestID></Response>`, f.importErr)
			return
		}
		io.WriteString(w, `<ImportImageResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId><importTaskId>import-ami-0123</importTaskId><status>active</status><progress>2</progress></ImportImageResponse>`)
	case "DescribeImportImageTasks":
		s := f.statuses[min(f.polls, len(f.statuses)-1)]
		f.polls++
		parts := strings.SplitN(s+"||", "|", 4)
		image := ""
		if parts[2] != "" {
			image = "<imageId>" + parts[2] + "</imageId>"
		}
		fmt.Fprintf(w, `<DescribeImportImageTasksResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-2</requestId><importImageTaskSet><item><importTaskId>%s</importTaskId><status>%s</status><statusMessage>%s</statusMessage><progress>40</progress>%s</item></importImageTaskSet></DescribeImportImageTasksResponse>`,
			r.Form.Get("ImportTaskId.1"), parts[0], parts[1], image)
	case "CreateTags":
		f.tagged = r.Form
		io.WriteString(w, `<CreateTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-3</requestId><return>true</return></CreateTagsResponse>`)
	default:
		http.Error(w, "unknown action "+r.Form.Get("Action"), http.StatusBadRequest)
	}
}

// fakeAWS is one loopback endpoint: EC2 query calls (form POSTs to /) go to
// fakeEC2, everything else to gofakes3.
type fakeAWS struct {
	*httptest.Server
	ec2          *fakeEC2
	backend      *s3mem.Backend
	objectWrites atomic.Int64 // PUT/POST requests on objects (uploads, parts, completes)
	multipart    atomic.Int64 // requests carrying an uploadId
	denyWrites   atomic.Bool
	stall        func(*http.Request) bool // requests handed to stalled, set before the first
	stalled      *httptest.Server
}

func newFakeAWS(t *testing.T) *fakeAWS {
	t.Helper()
	f := &fakeAWS{ec2: &fakeEC2{statuses: []string{"completed||ami-0abc"}}, backend: s3mem.New()}
	if err := f.backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	s3h := gofakes3.New(f.backend).Server()
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.stall != nil && f.stall(r) {
			f.stalled.Config.Handler.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			f.ec2.ServeHTTP(w, r)
			return
		}
		if (r.Method == http.MethodPut || r.Method == http.MethodPost) && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 {
			if f.denyWrites.Load() {
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
				return
			}
			f.objectWrites.Add(1)
			if r.URL.Query().Has("uploadId") {
				f.multipart.Add(1)
			}
		}
		s3h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// awsConfig points the SDK at f with static test credentials.
func (f *fakeAWS) awsConfig() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(f.URL),
	}
}

// testConfig returns a configuration rooted in a temporary folder holding an
// aws artifact of size bytes, and its sha256.
func testConfig(t *testing.T, size int) (*config.Config, string) {
	t.Helper()
	cfg := uploadtest.Config(t)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*31 + i>>11)
	}
	writeArtifact(t, cfg, data)
	sum := sha256.Sum256(data)
	return cfg, hex.EncodeToString(sum[:])
}

func writeArtifact(t *testing.T, cfg *config.Config, data []byte) {
	uploadtest.WriteArtifact(t, cfg, Source(cfg), data)
}

// isolateAWSEnv makes the SDK's default chain see only what the test sets.
func isolateAWSEnv(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_EC2", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestPublishViaEnvEndpointUploadsMultipartImportsTagsAndRerunSkipsUpload(t *testing.T) {
	f := newFakeAWS(t)
	f.ec2.statuses = []string{"active|converting|", "active|booting|", "completed||ami-0abc"}
	cfg, sum := testConfig(t, 12<<20)
	isolateAWSEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", f.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	awsCfg, err := LoadAWS(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := Settings{Bucket: bucket, Timeout: time.Minute}
	o := Options{AWS: &awsCfg, PartSize: 5 << 20, PollInterval: time.Millisecond, Out: &out}

	res, err := Publish(context.Background(), cfg, s, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	wantKey := "CentOS-7.9.2009/1.0.0/CentOS-7.9.2009-1.0.0_aws.ova"
	if res.Skipped || res.AMI != "ami-0abc" || res.ImportTask != "import-ami-0123" || res.Key != wantKey {
		t.Errorf("result %+v", res)
	}
	if f.multipart.Load() < 3 {
		t.Errorf("%d multipart requests, want parts and a completion for a 12 MiB file in 5 MiB parts", f.multipart.Load())
	}
	obj, err := NewS3(f.awsConfig()).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(wantKey)})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	io.Copy(h, obj.Body)
	obj.Body.Close()
	if got := hex.EncodeToString(h.Sum(nil)); got != sum || obj.Metadata[MetaSHA256] != sum {
		t.Errorf("object sha256 %s, metadata %v; want %s in both", got, obj.Metadata, sum)
	}
	imp := f.ec2.imported
	if imp.Get("RoleName") != "vmimport" || imp.Get("DiskContainer.1.Format") != "ova" || imp.Get("DiskContainer.1.UserBucket.S3Bucket") != bucket || imp.Get("DiskContainer.1.UserBucket.S3Key") != wantKey {
		t.Errorf("ImportImage parameters %v", imp)
	}
	tags := f.ec2.tagged
	if tags.Get("ResourceId.1") != "ami-0abc" || tags.Get("Tag.1.Key") != "Name" || tags.Get("Tag.1.Value") != "CentOS-7.9.2009-1.0.0_aws" || tags.Get("Tag.2.Key") != "Version" || tags.Get("Tag.2.Value") != "1.0.0" {
		t.Errorf("CreateTags parameters %v", tags)
	}
	if !strings.Contains(out.String(), "active converting") || !strings.Contains(out.String(), "completed") {
		t.Errorf("progress lines do not show the import states:\n%s", out.String())
	}

	writes := f.objectWrites.Load()
	res, err = Publish(context.Background(), cfg, s, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Skipped || f.objectWrites.Load() != writes {
		t.Errorf("second run: skipped=%v, %d more object writes; want the upload skipped", res.Skipped, f.objectWrites.Load()-writes)
	}
}

func fileSum(t *testing.T, path string) string {
	sum, err := hashfile.File(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestUploadReplacesObjectWhoseSHA256Differs(t *testing.T) {
	f := newFakeAWS(t)
	cfg, _ := testConfig(t, 1000)
	s := Settings{Bucket: bucket, Key: "k.ova"}
	client := NewS3(f.awsConfig())
	path := filepath.Join(cfg.Root, Source(cfg))
	if skipped, err := Upload(context.Background(), client, path, fileSum(t, path), s, Options{}); err != nil || skipped {
		t.Fatalf("first upload: skipped=%v err=%v", skipped, err)
	}
	writeArtifact(t, cfg, bytes.Repeat([]byte("x"), 1000)) // same size, other content
	if skipped, err := Upload(context.Background(), client, path, fileSum(t, path), s, Options{}); err != nil || skipped {
		t.Fatalf("upload of changed file: skipped=%v err=%v, want uploaded", skipped, err)
	}
	if skipped, err := Upload(context.Background(), client, path, fileSum(t, path), s, Options{}); err != nil || !skipped {
		t.Fatalf("third upload: skipped=%v err=%v, want skipped", skipped, err)
	}
}

func TestImportPolling(t *testing.T) {
	tests := []struct {
		name     string
		statuses []string
		timeout  time.Duration
		wantAMI  string
		wantErr  string
	}{
		{"completed after active polls prints the AMI", []string{"active|pending|", "active|converting|", "completed||ami-0fff"}, time.Minute, "ami-0fff", ""},
		{"deleted carries AWS's status message", []string{"active|validating|", "deleted|ClientError: Unknown OS / Missing OS files.|"}, time.Minute, "", "import task import-ami-0123 failed: ClientError: Unknown OS / Missing OS files."},
		{"slow import stops at the timeout", []string{"active|converting|"}, 50 * time.Millisecond, "", "not done after 50ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS(t)
			f.ec2.statuses = tt.statuses
			client := ec2.NewFromConfig(f.awsConfig())
			_, ami, err := Import(context.Background(), client, "test", Settings{Bucket: bucket, Key: "k.ova", Timeout: tt.timeout}, Options{PollInterval: time.Millisecond})
			if tt.wantErr == "" {
				if err != nil || ami != tt.wantAMI {
					t.Fatalf("ami=%q err=%v, want %q", ami, err, tt.wantAMI)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestPublishErrors(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, f *fakeAWS, cfg *config.Config, s *Settings, o *Options)
		wantErr string
	}{
		{"artifact never built", func(t *testing.T, f *fakeAWS, cfg *config.Config, s *Settings, o *Options) {
			os.Remove(filepath.Join(cfg.Root, Source(cfg)))
		}, `artifact "artifacts/1.0.0/CentOS-7.9.2009/aws/CentOS-7.9.2009-1.0.0_aws.ova" not found; build it first`},
		{"no bucket configured", func(t *testing.T, f *fakeAWS, cfg *config.Config, s *Settings, o *Options) {
			s.Bucket = ""
		}, "no S3 bucket: set AWS_S3_BUCKET"},
		{"bucket missing", func(t *testing.T, f *fakeAWS, cfg *config.Config, s *Settings, o *Options) {
			s.Bucket = "no-such-bucket"
		}, `S3 bucket "no-such-bucket": it does not exist`},
		{"bucket not writable", func(t *testing.T, f *fakeAWS, cfg *config.Config, s *Settings, o *Options) {
			f.denyWrites.Store(true)
		}, "the bucket is not writable"},
		{"no credentials in the default chain", func(t *testing.T, f *fakeAWS, cfg *config.Config, s *Settings, o *Options) {
			isolateAWSEnv(t)
			t.Setenv("AWS_REGION", "us-east-1")
			loaded, err := LoadAWS(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			o.AWS = &loaded
		}, "no AWS credentials"},
		{"vmimport role missing", func(t *testing.T, f *fakeAWS, cfg *config.Config, s *Settings, o *Options) {
			f.ec2.roleError = "NoSuchEntity"
		}, `the VM Import service role "vmimport" does not exist; create it`},
		{"role does not trust VM Import", func(t *testing.T, f *fakeAWS, cfg *config.Config, s *Settings, o *Options) {
			s.Role = "builder"
			f.ec2.roleTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
		}, `the service role "builder" does not let vmie.amazonaws.com assume it`},
		{"role lacks permissions on the bucket", func(t *testing.T, f *fakeAWS, cfg *config.Config, s *Settings, o *Options) {
			f.ec2.importErr = `<Code>InvalidParameter</Code><Message>The service role vmimport provided does not exist or does not have sufficient permissions</Message>`
		}, `the service role "vmimport" does not exist or lacks permissions`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS(t)
			cfg, _ := testConfig(t, 100)
			awsCfg := f.awsConfig()
			s := Settings{Bucket: bucket, Timeout: time.Minute}
			o := Options{AWS: &awsCfg, PollInterval: time.Millisecond}
			tt.prepare(t, f, cfg, &s, &o)
			_, err := Publish(context.Background(), cfg, s, o)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			// Only a refusal at the import itself may come after the upload.
			if uploaded := f.objectWrites.Load() > 0; uploaded != (f.ec2.importErr != "") {
				t.Errorf("uploaded: %v; want an upload only when the import itself fails", uploaded)
			}
		})
	}
}

func TestRoleCheckThatMayNotReadIAMLeavesItToTheImport(t *testing.T) {
	f := newFakeAWS(t)
	f.ec2.roleError = "AccessDenied"
	cfg, _ := testConfig(t, 100)
	var out bytes.Buffer
	awsCfg := f.awsConfig()
	s := Settings{Bucket: bucket, Role: "importer", Timeout: time.Minute}
	o := Options{AWS: &awsCfg, PollInterval: time.Millisecond, Out: &out}
	res, err := Publish(context.Background(), cfg, s, o)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if res.AMI != "ami-0abc" || f.ec2.roleAsked != "importer" || f.ec2.imported.Get("RoleName") != "importer" {
		t.Errorf("AMI %q, role asked %q, role imported with %q", res.AMI, f.ec2.roleAsked, f.ec2.imported.Get("RoleName"))
	}
	if !strings.Contains(out.String(), `may not call iam:GetRole, so the service role "importer" is checked only when the import starts`) {
		t.Errorf("no note about the skipped role check:\n%s", out.String())
	}
}

func TestSettingsFromEnv(t *testing.T) {
	site := config.Defaults()
	site.AWS.Bucket = "site-bucket"
	s, err := SettingsFromEnv(site, func(string) string { return "" })
	if err != nil || s.Bucket != "site-bucket" || s.Role != "vmimport" || s.Timeout != 2*time.Hour {
		t.Errorf("from site: %+v, %v", s, err)
	}
	env := map[string]string{"AWS_S3_BUCKET": "env-bucket", "AWS_IMPORT_TIMEOUT": "90m"}
	s, err = SettingsFromEnv(site, func(k string) string { return env[k] })
	if err != nil || s.Bucket != "env-bucket" || s.Timeout != 90*time.Minute {
		t.Errorf("from env: %+v, %v", s, err)
	}
	env["AWS_IMPORT_TIMEOUT"] = "soon"
	if _, err := SettingsFromEnv(site, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), `AWS_IMPORT_TIMEOUT="soon"`) {
		t.Errorf("bad timeout: err = %v", err)
	}
}

func TestUploadProgressCountsEachByteOnceWhenPartsAreReadTwice(t *testing.T) {
	cfg, _ := testConfig(t, 3*block+100)
	f, err := os.Open(filepath.Join(cfg.Root, Source(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	meter := progress.New(&out, "test", 3*block+100, 0)
	c := &countingFile{f: f, meter: meter, seen: map[int64]int64{}}
	buf := make([]byte, 2*block)
	for range 2 { // the SDK reads a part once to sign it and once to send it
		c.ReadAt(buf, 0)
		c.ReadAt(buf, 2*block)
	}
	meter.Done()
	if !strings.Contains(out.String(), progress.Bytes(3*block+100)+" in") {
		t.Errorf("final line %q, want the file size %s counted once", out.String(), progress.Bytes(3*block+100))
	}
}

func TestResultStringIsTheLineUploadAwsPrints(t *testing.T) {
	r := Result{Bucket: bucket, Key: "k.ova", Skipped: true, ImportTask: "import-ami-0123", AMI: "ami-0abc"}
	if got, want := r.String(), "ami-0abc (import import-ami-0123) from s3://gold-images/k.ova, upload skipped: true"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestAStalledServerIsGivenUpOnNotWaitedForForever: the SDK bounds only
// dialing and the TLS handshake, so an AWS endpoint that takes a request and
// never answers would hang the upload; a request that stalls is given up
// (and tried again by the SDK), the large part uploads included.
func TestAStalledServerIsGivenUpOnNotWaitedForForever(t *testing.T) {
	defer func(d time.Duration) { stallTimeout = d }(stallTimeout)
	stallTimeout = time.Second // healthy requests on a loaded machine stay well within it
	action := func(name string) func(*http.Request) bool {
		return func(r *http.Request) bool { return r.FormValue("Action") == name }
	}
	tests := []struct {
		name  string
		stall func(*http.Request) bool
	}{
		{"IAM's GetRole", action("GetRole")},
		{"an S3 part upload", func(r *http.Request) bool { return r.Method == http.MethodPut && r.URL.Query().Has("uploadId") }},
		{"EC2's DescribeImportImageTasks", action("DescribeImportImageTasks")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS(t)
			f.stalled = uploadtest.StalledServer(t)
			var stalled atomic.Int64
			f.stall = func(r *http.Request) bool {
				if tt.stall(r) {
					stalled.Add(1)
					return true
				}
				return false
			}
			cfg, _ := testConfig(t, 12<<20)
			awsCfg := f.awsConfig()
			awsCfg.RetryMaxAttempts = 2 // one try again is enough to see
			s := Settings{Bucket: bucket, Timeout: time.Minute}
			o := Options{AWS: &awsCfg, PartSize: 5 << 20, PollInterval: time.Millisecond}
			uploadtest.GivesUp(t, func() error {
				_, err := Publish(t.Context(), cfg, s, o)
				return err
			})
			if stalled.Load() < 2 {
				t.Errorf("%d requests stalled, want the SDK to try again", stalled.Load())
			}
		})
	}
}
