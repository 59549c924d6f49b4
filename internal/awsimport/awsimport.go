// Package awsimport publishes the aws artifact (an OVA) as an AMI: it
// uploads the file to S3 (parallel multipart, skipped when the object is
// already there with the same sha256), runs EC2 VM Import on it, waits for
// the import within a time limit and tags the AMI. It has the shape of every
// upload package (README, Layout): Settings, SettingsFromEnv, Options,
// Source, Publish and Result.
package awsimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/httpbound"
	"gold-standard-images/internal/progress"
	"gold-standard-images/internal/redact"
)

// Provider is the provider whose artifact this upload takes.
const Provider = "aws"

// MetaSHA256 is the S3 user metadata key (x-amz-meta-sha256) holding the
// object's sha256, which decides whether a re-run may skip the upload.
const MetaSHA256 = "sha256"

// Settings are the site's choices for Publish: templates/site.json under
// the environment (SettingsFromEnv).
type Settings struct {
	Bucket  string        // S3 bucket the OVA goes to
	Key     string        // object key; empty is <vm_name>/<version>/<file name>
	Role    string        // VM Import service role; empty is "vmimport"
	Timeout time.Duration // how long to wait for the import; 0 is 2h
}

// Options tune how Publish uploads and waits; the zero value is fine.
type Options struct {
	AWS          *aws.Config   // SDK configuration; nil is LoadAWS with the site's aws.region
	PollInterval time.Duration // how often to ask about the import; 0 is 30s
	PartSize     int64         // multipart part size; 0 is 64 MiB
	Concurrency  int           // parts uploaded at once; 0 is 4
	Out          io.Writer     // progress lines; nil is silent
}

// SettingsFromEnv picks the bucket (AWS_S3_BUCKET over aws.bucket), role and
// import timeout (AWS_IMPORT_TIMEOUT over aws.import_timeout) of the site.
func SettingsFromEnv(site config.Site, getenv func(string) string) (Settings, error) {
	s := Settings{Bucket: site.AWS.Bucket, Role: site.AWS.ImportRole}
	s.Bucket = envvar.AWSS3Bucket.Or(getenv, s.Bucket)
	d, err := envvar.AWSImportTimeout.Or(getenv, 0)
	if err != nil {
		return s, err
	}
	if timeout := site.AWS.ImportTimeout; d == 0 && timeout != "" {
		d, err = time.ParseDuration(timeout)
		if err != nil || d <= 0 {
			return s, fmt.Errorf("reading aws.import_timeout in %s=%q: want a Go duration such as 90m", config.SiteFile, timeout)
		}
	}
	s.Timeout = d
	return s, nil
}

// LoadAWS loads the SDK configuration with the default chain (environment,
// shared config and credentials files, SSO, instance role); region (the
// site's) is used when the chain names none. AWS_ENDPOINT_URL (and
// AWS_ENDPOINT_URL_S3/_EC2) point the clients elsewhere; the SDK reads them.
// The clients made from it give up on a request that stalls (bounded).
func LoadAWS(ctx context.Context, region string) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return cfg, fmt.Errorf("loading AWS configuration: %w", err)
	}
	// Wrapped after loading: the loader puts AWS_CA_BUNDLE into its own
	// client and refuses any other.
	cfg.HTTPClient = bounded(cfg.HTTPClient)
	if cfg.Region == "" {
		cfg.Region = region
	}
	return cfg, nil
}

// stallTimeout is how long a request to AWS may go without a byte moving
// (sent, answered or read) before it is given up and the SDK tries again.
// The SDK bounds only dialing and the TLS handshake by default, so a
// connection that stalls would hang upload:aws for good; a total limit per
// request would cut a 64 MiB part on a slow link instead.
var stallTimeout = 2 * time.Minute

// bounded is client (nil is the SDK's default) giving up on a request that
// stalls for stallTimeout.
func bounded(client aws.HTTPClient) aws.HTTPClient {
	if client == nil {
		client = awshttp.NewBuildableClient()
	}
	return httpbound.Client(client, stallTimeout)
}

// NewS3 is the S3 client of cfg. With a custom endpoint (an S3-compatible
// server) it uses path-style addressing and sends checksums only when an
// operation requires them, which such servers understand.
func NewS3(cfg aws.Config) *s3.Client {
	cfg.HTTPClient = bounded(cfg.HTTPClient)
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
}

// Source is the file Publish reads, relative to cfg.Root:
// artifacts/<version>/<vm_name>/aws/<vm_name>-<version>_aws.ova.
func Source(cfg *config.Config) string {
	return cfg.Tree().Artifact(Provider, "ova")
}

// Result is what Publish did.
type Result struct {
	Bucket, Key string
	Skipped     bool   // the object was already in S3 with the same sha256
	ImportTask  string // import-ami-...
	AMI         string // ami-...
}

// String is the line upload:aws prints:
// "<ami> (import <task>) from s3://<bucket>/<key>, upload skipped: <bool>".
func (r Result) String() string {
	return fmt.Sprintf("%s (import %s) from s3://%s/%s, upload skipped: %v", r.AMI, r.ImportTask, r.Bucket, r.Key, r.Skipped)
}

// Publish uploads cfg's OVA (Source) and imports it as an AMI tagged Name
// <vm_name>-<version> and Version <version>.
func Publish(ctx context.Context, cfg *config.Config, s Settings, o Options) (_ Result, err error) {
	defer func() { err = redact.Error(err) }() // an endpoint's credentials are never printed
	if o.AWS == nil {
		loaded, err := LoadAWS(ctx, cfg.Site.AWS.Region)
		if err != nil {
			return Result{}, err
		}
		o.AWS = &loaded
	}
	awsCfg := *o.AWS
	awsCfg.HTTPClient = bounded(awsCfg.HTTPClient)
	rel := Source(cfg)
	file := filepath.Join(cfg.Root, rel)
	sum, err := checksum.Listed(ctx, file)
	if errors.Is(err, os.ErrNotExist) {
		return Result{}, fmt.Errorf("publishing to AWS: artifact %q not found; build it first (mage build:os %s with ONLY=aws)", rel, cfg.OS.VMName)
	} else if err != nil {
		return Result{}, fmt.Errorf("publishing to AWS: %w", err)
	}
	if s.Bucket == "" {
		return Result{}, fmt.Errorf("publishing to AWS: no S3 bucket: set AWS_S3_BUCKET or aws.bucket in %s", config.SiteFile)
	}
	if err := CheckCredentials(ctx, awsCfg); err != nil {
		return Result{}, err
	}
	if err := CheckRole(ctx, iam.NewFromConfig(awsCfg), s, o); err != nil {
		return Result{}, err
	}
	if s.Key == "" {
		s.Key = path.Join(cfg.OS.VMName, cfg.Site.Version, filepath.Base(file))
	}
	res := Result{Bucket: s.Bucket, Key: s.Key}
	res.Skipped, err = Upload(ctx, NewS3(awsCfg), file, sum, s, o)
	if err != nil {
		return res, err
	}
	client := ec2.NewFromConfig(awsCfg)
	desc := fmt.Sprintf("%s %s", cfg.OS.VMName, cfg.Site.Version)
	res.ImportTask, res.AMI, err = Import(ctx, client, desc, s, o)
	if err != nil {
		return res, err
	}
	_, err = client.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: []string{res.AMI},
		Tags: []ec2types.Tag{
			{Key: aws.String("Name"), Value: aws.String(cfg.Tree().BaseName(Provider))},
			{Key: aws.String("Version"), Value: aws.String(cfg.Site.Version)},
		},
	})
	if err != nil {
		return res, fmt.Errorf("tagging AMI %s: %w", res.AMI, err)
	}
	return res, nil
}

// vmImportPrincipal is the service VM Import assumes its role as.
const vmImportPrincipal = "vmie.amazonaws.com"

// roleDocs explains how to create the VM Import service role.
const roleDocs = "https://docs.aws.amazon.com/vm-import/latest/userguide/required-permissions.html#vmimport-role"

// CheckRole fails before the upload when the VM Import service role
// (s.Role, default vmimport) does not exist or does not trust
// vmie.amazonaws.com. Credentials that may not call iam:GetRole get a note
// on o.Out and the check is left to ImportImage.
func CheckRole(ctx context.Context, client *iam.Client, s Settings, o Options) error {
	role := roleName(s)
	out, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
	var api smithy.APIError
	switch {
	case err == nil:
	case errors.As(err, &api) && api.ErrorCode() == "NoSuchEntity":
		return fmt.Errorf("publishing to AWS: the VM Import service role %q does not exist; create it as described in %s (or name another with aws.import_role in %s)", role, roleDocs, config.SiteFile)
	case errors.As(err, &api) && (api.ErrorCode() == "AccessDenied" || api.ErrorCode() == "AccessDeniedException"):
		if o.Out != nil {
			fmt.Fprintf(o.Out, "note: these credentials may not call iam:GetRole, so the service role %q is checked only when the import starts\n", role)
		}
		return nil
	default:
		return fmt.Errorf("publishing to AWS: checking the VM Import service role %q: %w", role, err)
	}
	policy := ""
	if out.Role != nil && out.Role.AssumeRolePolicyDocument != nil {
		// IAM returns the trust policy URL-encoded.
		if policy, err = url.QueryUnescape(*out.Role.AssumeRolePolicyDocument); err != nil {
			policy = *out.Role.AssumeRolePolicyDocument
		}
	}
	if !strings.Contains(policy, vmImportPrincipal) {
		return fmt.Errorf("publishing to AWS: the service role %q does not let %s assume it (its trust policy: %s); fix it as described in %s", role, vmImportPrincipal, policy, roleDocs)
	}
	return nil
}

func roleName(s Settings) string {
	if s.Role == "" {
		return "vmimport"
	}
	return s.Role
}

// CheckCredentials fails early, with advice, when the default chain finds
// no credentials.
func CheckCredentials(ctx context.Context, awsCfg aws.Config) error {
	const advice = "set AWS_PROFILE (and run aws sso login for SSO profiles), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	if awsCfg.Credentials == nil {
		return errors.New("publishing to AWS: no AWS credentials: " + advice)
	}
	if _, err := awsCfg.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("publishing to AWS: no AWS credentials (%s): %w", advice, err)
	}
	if awsCfg.Region == "" {
		return fmt.Errorf("publishing to AWS: no AWS region: set AWS_REGION or aws.region in %s", config.SiteFile)
	}
	return nil
}

// Upload puts the file at path into s.Bucket/s.Key with parallel multipart
// and progress, storing its sha256 (sum, as checksum.Listed gives it) in the
// object's metadata. It skips the upload, reporting true, when the object is
// there with that sha256 and size.
func Upload(ctx context.Context, client *s3.Client, file, sum string, s Settings, o Options) (skipped bool, err error) {
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.Bucket}); err != nil {
		switch httpStatus(err) {
		case http.StatusNotFound:
			return false, fmt.Errorf("checking S3 bucket %q: it does not exist (create it, or set AWS_S3_BUCKET / aws.bucket to an existing one)", s.Bucket)
		case http.StatusForbidden:
			return false, fmt.Errorf("checking S3 bucket %q: access denied to these credentials: %w", s.Bucket, err)
		}
		return false, fmt.Errorf("checking S3 bucket %q: %w", s.Bucket, err)
	}
	f, err := os.Open(file)
	if err != nil {
		return false, fmt.Errorf("uploading %q: %w", file, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("uploading %q: %w", file, err)
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.Bucket, Key: &s.Key})
	switch {
	case err == nil:
		if head.Metadata[MetaSHA256] == sum && aws.ToInt64(head.ContentLength) == info.Size() {
			return true, nil
		}
	case httpStatus(err) != http.StatusNotFound:
		return false, fmt.Errorf("checking s3://%s/%s: %w", s.Bucket, s.Key, err)
	}
	uploader := manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = max(o.PartSize, manager.MinUploadPartSize)
		if o.PartSize == 0 {
			u.PartSize = 64 << 20
		}
		u.Concurrency = o.Concurrency
		if u.Concurrency == 0 {
			u.Concurrency = 4
		}
	})
	meter := progress.New(o.Out, "s3: s3://"+s.Bucket+"/"+s.Key, info.Size(), 0)
	body := &countingFile{f: f, meter: meter, seen: map[int64]int64{}}
	_, err = uploader.Upload(ctx, &s3.PutObjectInput{
		Bucket:      &s.Bucket,
		Key:         &s.Key,
		Body:        body,
		ContentType: aws.String("application/x-tar"), // an OVA is a tar
		Metadata:    map[string]string{MetaSHA256: sum},
	})
	meter.Done()
	if err != nil {
		if httpStatus(err) == http.StatusForbidden {
			return false, fmt.Errorf("uploading to s3://%s/%s: the bucket is not writable with these credentials: %w", s.Bucket, s.Key, err)
		}
		return false, fmt.Errorf("uploading to s3://%s/%s: %w", s.Bucket, s.Key, err)
	}
	return false, nil
}

// httpStatus is the HTTP status of an AWS error, 0 if it has none.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// countingFile is the upload body: the SDK reads parts with ReadAt (some
// twice, to sign them), so progress counts each 1 MiB block's furthest
// offset once and never passes the file size.
type countingFile struct {
	f     *os.File
	meter *progress.Meter
	mu    sync.Mutex
	seen  map[int64]int64 // block index -> bytes of it read
}

const block = 1 << 20

func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.f.ReadAt(p, off)
	c.count(off, n)
	return n, err
}

func (c *countingFile) Read(p []byte) (int, error) {
	off, _ := c.f.Seek(0, io.SeekCurrent)
	n, err := c.f.Read(p)
	c.count(off, n)
	return n, err
}

func (c *countingFile) Seek(off int64, whence int) (int64, error) { return c.f.Seek(off, whence) }

func (c *countingFile) count(off int64, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := off + int64(n)
	for b := off / block; b*block < end; b++ {
		upto := min(end, (b+1)*block) - b*block
		if prev := c.seen[b]; upto > prev {
			c.meter.Add(upto - prev)
			c.seen[b] = upto
		}
	}
}

// Import starts VM Import of s3://s.Bucket/s.Key (format ova, role s.Role)
// and waits until it completes, returning the task and AMI ids. A deleted
// task is an error carrying AWS's status message; so is running out of
// s.Timeout (the task goes on in AWS).
func Import(ctx context.Context, client *ec2.Client, description string, s Settings, o Options) (task, ami string, err error) {
	role := roleName(s)
	out, err := client.ImportImage(ctx, &ec2.ImportImageInput{
		Description: aws.String(description),
		RoleName:    aws.String(role),
		DiskContainers: []ec2types.ImageDiskContainer{{
			Description: aws.String(description),
			Format:      aws.String("ova"),
			UserBucket:  &ec2types.UserBucket{S3Bucket: aws.String(s.Bucket), S3Key: aws.String(s.Key)},
		}},
	})
	if err != nil {
		return "", "", importError(role, s, err)
	}
	task = aws.ToString(out.ImportTaskId)
	timeout, interval := s.Timeout, o.PollInterval
	if timeout == 0 {
		timeout = 2 * time.Hour
	}
	if interval == 0 {
		interval = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	last := ""
	for {
		desc, err := client.DescribeImportImageTasks(ctx, &ec2.DescribeImportImageTasksInput{ImportTaskIds: []string{task}})
		if err != nil && ctx.Err() == nil {
			return task, "", fmt.Errorf("waiting for import task %s: %w", task, err)
		}
		if err == nil {
			if len(desc.ImportImageTasks) == 0 {
				return task, "", fmt.Errorf("waiting for import task %s: AWS no longer knows the task", task)
			}
			t := desc.ImportImageTasks[0]
			status := aws.ToString(t.Status)
			line := strings.TrimSpace(status + " " + aws.ToString(t.StatusMessage) + " " + progressText(t.Progress))
			if line != last && o.Out != nil {
				fmt.Fprintf(o.Out, ">> import %s: %s\n", task, line)
			}
			last = line
			switch status {
			case "completed":
				if t.ImageId == nil {
					return task, "", fmt.Errorf("import task %s completed without an AMI id", task)
				}
				return task, aws.ToString(t.ImageId), nil
			case "deleted", "deleting":
				return task, "", fmt.Errorf("import task %s failed: %s", task, aws.ToString(t.StatusMessage))
			}
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return task, "", fmt.Errorf("import task %s not done after %s (last status %q); it goes on in AWS: aws ec2 describe-import-image-tasks --import-task-ids %s", task, timeout, last, task)
			}
			return task, "", fmt.Errorf("waiting for import task %s: %w", task, ctx.Err())
		case <-tick.C:
		}
	}
}

func progressText(p *string) string {
	if p == nil || *p == "" {
		return ""
	}
	return *p + "%"
}

// importError explains the usual ImportImage refusals.
func importError(role string, s Settings, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		msg := strings.ToLower(api.ErrorMessage())
		switch {
		case api.ErrorCode() == "InvalidParameter" && strings.Contains(msg, "role"):
			return fmt.Errorf("starting VM Import: the service role %q does not exist or lacks permissions on bucket %q; create it as described in https://docs.aws.amazon.com/vm-import/latest/userguide/required-permissions.html#vmimport-role: %w", role, s.Bucket, err)
		case api.ErrorCode() == "UnauthorizedOperation":
			return fmt.Errorf("starting VM Import: these credentials may not call ec2:ImportImage: %w", err)
		}
	}
	return fmt.Errorf("starting VM Import of s3://%s/%s: %w", s.Bucket, s.Key, err)
}
