// Package gcpimage publishes the gcp artifact (a gzip tarball holding
// disk.raw) as a Compute Engine image: a resumable upload to Cloud Storage
// (skipped when the object is there with the same size and CRC32C), then
// images.insert from the object, waited for within a time limit. It has the
// shape of every upload package (README, Layout): Settings,
// SettingsFromEnv, Options, Source, Publish and Result.
package gcpimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	compute "google.golang.org/api/compute/v1"
	"google.golang.org/api/option"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/redact"
)

// Provider is the provider whose artifact this upload takes.
const Provider = "gcp"

// Settings are the site's choices for Publish, from the environment
// (SettingsFromEnv).
type Settings struct {
	Project string // the project of the image
	Bucket  string // an existing Cloud Storage bucket for the tarball
	Family  string // image family; empty is ImageName(vm_name)
	// ComputeEndpoint is the Compute API's base URL
	// (https://compute.googleapis.com/compute/v1/); empty is Google's.
	ComputeEndpoint string
	Timeout         time.Duration // bounds images.insert; 0 is 1h
}

// Options tune how Publish talks to Google Cloud; the zero value is fine.
type Options struct {
	// TokenSource signs the requests; nil is Application Default Credentials.
	TokenSource oauth2.TokenSource
	// Storage is the Cloud Storage client; nil is one made with TokenSource
	// (the library itself honours STORAGE_EMULATOR_HOST).
	Storage      *storage.Client
	ChunkSize    int           // resumable upload chunk; 0 is 16 MiB (the memory it takes)
	RetryDelay   time.Duration // first wait before a retry; 0 is 1s
	PollInterval time.Duration // how often to ask about images.insert; 0 is 5s
	Out          io.Writer     // progress lines; nil is silent
}

// SettingsFromEnv reads the GCP variables (envvar's table). The site has no
// GCP settings yet; it is there for the shape every upload has.
func SettingsFromEnv(site config.Site, getenv func(string) string) (Settings, error) {
	s := Settings{
		Project:         envvar.GCPProject.Get(getenv),
		Bucket:          envvar.GCSBucket.Get(getenv),
		Family:          envvar.GCPImageFamily.Get(getenv),
		ComputeEndpoint: envvar.GCEEndpoint.Get(getenv),
	}
	var err error
	s.Timeout, err = envvar.GCPImageTimeout.Or(getenv, time.Hour)
	return s, err
}

// Source is the file Publish reads, relative to cfg.Root:
// artifacts/<version>/<vm_name>/gcp/<vm_name>-<version>_gcp.tar.gz.
func Source(cfg *config.Config) string {
	return cfg.Tree().Artifact(Provider, "tar.gz")
}

// Result is what Publish did.
type Result struct {
	Object  string // gs://<bucket>/<object>
	Skipped bool   // the object was already there with the same size and CRC32C
	Image   string // projects/<project>/global/images/<name>
	Existed bool   // the image was already there from the same object
}

// String is the line upload:gcp prints:
// "<image> from gs://<bucket>/<object>, upload skipped: <bool>".
func (r Result) String() string {
	return fmt.Sprintf("%s from %s, upload skipped: %v", r.Image, r.Object, r.Skipped)
}

var (
	notNameChar = regexp.MustCompile(`[^a-z0-9-]+`)
	notLabel    = regexp.MustCompile(`[^a-z0-9_-]+`)
)

// ImageName is the seed's rule for a Compute Engine name: lower case, `_`
// and `.` (and anything else not allowed) to `-`, a letter first, at most
// 63 characters, no `-` at the end.
func ImageName(s string) string {
	name := notNameChar.ReplaceAllString(strings.ToLower(s), "-")
	if name == "" || name[0] < 'a' || name[0] > 'z' {
		name = "image-" + name
	}
	if len(name) > 63 {
		name = name[:63]
	}
	return strings.TrimRight(name, "-")
}

// LabelValue is s as a label value: lower case letters, digits, `_` and
// `-`, at most 63 characters.
func LabelValue(s string) string {
	v := notLabel.ReplaceAllString(strings.ToLower(s), "-")
	if len(v) > 63 {
		v = v[:63]
	}
	return v
}

// GuestOSFeatures are the features the image declares: multiqueue SCSI
// always, UEFI_COMPATIBLE only for UEFI builds.
func GuestOSFeatures(firmware string) ([]string, error) {
	switch strings.ToLower(firmware) {
	case "", "bios":
		return []string{"VIRTIO_SCSI_MULTIQUEUE"}, nil
	case "uefi":
		return []string{"VIRTIO_SCSI_MULTIQUEUE", "UEFI_COMPATIBLE"}, nil
	}
	return nil, fmt.Errorf("firmware %q: want bios or uefi", firmware)
}

// Publish uploads cfg's tarball (Source) to gs://<bucket>/<file name> and
// makes the image ImageName(<vm_name>-<version>_gcp) (config.ImageName) from it, in family
// s.Family, labelled version and vm_name.
func Publish(ctx context.Context, cfg *config.Config, s Settings, o Options) (_ Result, err error) {
	defer func() { err = redact.Error(err) }() // an endpoint's credentials are never printed
	rel := Source(cfg)
	file := filepath.Join(cfg.Root, rel)
	var problems, missing []string
	if s.Project == "" {
		missing = append(missing, envvar.GCPProject.Name+" (e.g. "+envvar.GCPProject.Name+"=my-project-123456)")
	}
	if s.Bucket == "" {
		missing = append(missing, envvar.GCSBucket.Name+" (e.g. "+envvar.GCSBucket.Name+"=my-images-bucket)")
	}
	if len(missing) > 0 {
		problems = append(problems, "set "+strings.Join(missing, ", "))
	}
	if _, err := checksum.Listed(ctx, file); errors.Is(err, os.ErrNotExist) {
		problems = append(problems, fmt.Sprintf("artifact %q not found: build it first: ONLY=gcp mage build:os %s", rel, cfg.OS.VMName))
	} else if err != nil {
		return Result{}, fmt.Errorf("publishing to GCP: %w", err)
	}
	features, err := GuestOSFeatures(string(cfg.Firmware()))
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return Result{}, fmt.Errorf("publishing to GCP: %s", strings.Join(problems, "; "))
	}
	if o.TokenSource == nil {
		creds, err := google.FindDefaultCredentials(ctx, storage.ScopeReadWrite, compute.ComputeScope)
		if err != nil {
			return Result{}, fmt.Errorf("publishing to GCP: no Google credentials found: %s", credentialAdvice)
		}
		o.TokenSource = creds.TokenSource
	}
	if _, err := o.TokenSource.Token(); err != nil {
		return Result{}, fmt.Errorf("publishing to GCP: getting a token: %w", oneLine(err))
	}
	if o.Storage == nil {
		client, err := storage.NewClient(ctx, option.WithTokenSource(o.TokenSource))
		if err != nil {
			return Result{}, fmt.Errorf("publishing to GCP: %w", oneLine(err))
		}
		defer client.Close()
		o.Storage = client
	}
	info, err := os.Stat(file)
	if err != nil {
		return Result{}, fmt.Errorf("publishing to GCP: %w", err)
	}
	name := filepath.Base(file)
	res := Result{Object: "gs://" + s.Bucket + "/" + name, Image: "projects/" + s.Project + "/global/images/" + ImageName(cfg.ImageName(Provider))}
	img := imageFor(cfg, s, name, features)
	svc, err := compute.NewService(ctx, computeOptions(s, o)...)
	if err != nil {
		return res, fmt.Errorf("publishing to GCP: %w", oneLine(err))
	}
	// Before the upload: an image that cannot be made, or credentials the
	// Compute API refuses, stop Publish before it sends anything.
	if res.Existed, err = Existing(ctx, svc, s, img, info.Size(), o); err != nil {
		return res, err
	}
	res.Skipped, err = Upload(ctx, o.Storage, file, s, name, o)
	if err != nil || res.Existed {
		return res, err
	}
	return res, create(ctx, svc, s, img, o)
}

// imageFor is the image made from object name: ImageName(<vm_name>-<version>_gcp)
// in family s.Family (default ImageName(vm_name)), labelled version and
// vm_name, with the guest OS features of the firmware.
func imageFor(cfg *config.Config, s Settings, name string, features []string) *compute.Image {
	family := s.Family
	if family == "" {
		family = ImageName(cfg.OS.VMName)
	}
	img := &compute.Image{
		Name:        ImageName(cfg.ImageName(Provider)),
		Family:      family,
		Description: fmt.Sprintf("%s %s from gs://%s/%s", cfg.OS.VMName, cfg.Site.Version, s.Bucket, name),
		Labels:      map[string]string{"version": LabelValue(cfg.Site.Version), "vm_name": LabelValue(cfg.OS.VMName)},
		RawDisk:     &compute.ImageRawDisk{Source: "https://storage.googleapis.com/" + s.Bucket + "/" + name},
	}
	for _, f := range features {
		img.GuestOsFeatures = append(img.GuestOsFeatures, &compute.GuestOsFeature{Type: f})
	}
	return img
}

func computeOptions(s Settings, o Options) []option.ClientOption {
	opts := []option.ClientOption{option.WithTokenSource(o.TokenSource)}
	if s.ComputeEndpoint != "" {
		opts = append(opts, option.WithEndpoint(s.ComputeEndpoint))
	}
	return opts
}
