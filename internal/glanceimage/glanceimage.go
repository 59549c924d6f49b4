// Package glanceimage publishes the openstack artifact (a qcow2) as a Glance
// image named <vm_name>-<version>_openstack (config.ImageName): it authenticates as the openstack CLI
// does (clouds.yaml, the OS_* variables, or no Keystone at all), creates the
// image with the tags and properties clouds look for, streams the file with
// progress, waits until Glance has it active and checks Glance's hash
// against the file's. An image of the same name and hash already active is
// left as it is; one left queued, saving or killed by an interrupted run is
// deleted and replaced. It has the shape of every upload package (README,
// Layout): Settings, SettingsFromEnv, Options, Source, Publish and Result.
package glanceimage

import (
	"context"
	"crypto/md5" //nolint:gosec // Glance's legacy checksum, compared, not trusted alone
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/ctxio"
	"gold-standard-images/internal/diskcheck"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/progress"
	"gold-standard-images/internal/redact"
	"gold-standard-images/internal/shorterr"
)

// Provider is the provider whose artifact this upload takes.
const Provider = "openstack"

// Tag marks the images this package made; only those are ever deleted.
const Tag = "packer"

// Settings are the site's choices for Publish (SettingsFromEnv).
type Settings struct {
	Auth       Auth
	Visibility string        // private, shared, community or public; empty is Glance's default
	Protected  bool          // set once the image is active and checked
	Timeout    time.Duration // wait for active after the upload; 0 is 30m
	Force      bool          // replace an active image of the same name holding other data
}

// Options tune Publish; the zero value is fine.
type Options struct {
	Out          io.Writer     // progress lines; nil is silent
	PollInterval time.Duration // how often to ask for the image's status; 0 is 2s
	// StaleAfter is how long an image may sit in saving (or importing)
	// without change before it counts as left by an interrupted run; 0 is
	// 15m.
	StaleAfter time.Duration
}

// SettingsFromEnv reads the OS_* variables (and OS_CLOUD's clouds.yaml),
// OS_IMAGE_VISIBILITY, OS_IMAGE_PROTECTED, OS_IMAGE_TIMEOUT and FORCE,
// reporting every bad value at once.
func SettingsFromEnv(_ config.Site, getenv func(string) string) (Settings, error) {
	var s Settings
	var errs []error
	var err error
	s.Auth, err = AuthFromEnv(getenv)
	errs = append(errs, err)
	s.Visibility, err = envvar.OSImageVisibility.Get(getenv)
	errs = append(errs, err)
	s.Protected, err = envvar.OSImageProtected.Or(getenv, false)
	errs = append(errs, err)
	s.Timeout, err = envvar.OSImageTimeout.Or(getenv, 0)
	errs = append(errs, err)
	s.Force, err = envvar.Force.Or(getenv, false)
	errs = append(errs, err)
	return s, errors.Join(errs...)
}

// Source is the file Publish reads, relative to cfg.Root:
// artifacts/<version>/<vm_name>/openstack/<vm_name>-<version>_openstack.qcow2.
func Source(cfg *config.Config) string {
	return cfg.Tree().Artifact(Provider, "qcow2")
}

// ImageName is the Glance image's name: <vm_name>-<version>_openstack, or
// <vm_name>-<version> with the site's image_names "short".
func ImageName(cfg *config.Config) string {
	return cfg.ImageName(Provider)
}

// Result is what Publish did.
type Result struct {
	Name, ID string
	Endpoint string   // Glance's image API
	Skipped  bool     // the image was active already with the same hash
	Removed  []string // ids of images deleted: left by interrupted runs, or replaced (FORCE)
}

// String is the line upload:openstack prints:
// "image <name> (<id>) at <endpoint>, upload skipped: <bool>[, removed ...]".
func (r Result) String() string {
	s := fmt.Sprintf("image %s (%s) at %s, upload skipped: %v", r.Name, r.ID, redact.URL(r.Endpoint), r.Skipped)
	if len(r.Removed) > 0 {
		s += ", removed " + strings.Join(r.Removed, " ")
	}
	return s
}

// Publish uploads cfg's qcow2 (Source) as the image ImageName, or finds it
// there already.
func Publish(ctx context.Context, cfg *config.Config, s Settings, o Options) (_ Result, err error) {
	defer func() { err = redact.Error(err) }() // an endpoint's credentials are never printed
	rel := Source(cfg)
	file := filepath.Join(cfg.Root, rel)
	if _, err := checksum.Listed(ctx, file); errors.Is(err, os.ErrNotExist) {
		return Result{}, fmt.Errorf("publishing to OpenStack: artifact %q not found; build it first (mage build:os %s with ONLY=openstack)", rel, cfg.OS.VMName)
	} else if err != nil {
		return Result{}, fmt.Errorf("publishing to OpenStack: %w", err)
	}
	if _, err := diskcheck.Check(ctx, file, "qcow2", diskcheck.Options{}); err != nil {
		return Result{}, fmt.Errorf("publishing to OpenStack: %w", err)
	}
	client, project, err := Connect(ctx, s.Auth, o.Out)
	if err != nil {
		return Result{}, err
	}
	res := Result{Name: ImageName(cfg), Endpoint: client.ResourceBaseURL()}
	local, err := hashFile(ctx, file, o.Out)
	if err != nil {
		return res, err
	}
	old, err := ours(ctx, client, res.Name, project)
	if err != nil {
		return res, err
	}
	var replace []images.Image
	stale := o.StaleAfter
	if stale == 0 {
		stale = 15 * time.Minute
	}
	for _, img := range old {
		switch img.Status {
		case images.ImageStatusActive:
			if local.matches(img) {
				res.ID, res.Skipped = img.ID, true
				return res, nil
			}
			if !s.Force {
				return res, fmt.Errorf("publishing to OpenStack: image %q (%s) is active with other data than %q (%s); set FORCE=1 to replace it, or build another VERSION", res.Name, img.ID, rel, local.describe(img))
			}
			replace = append(replace, img)
		case images.ImageStatusQueued, images.ImageStatusKilled:
			if err := remove(ctx, client, img); err != nil {
				return res, err
			}
			res.Removed = append(res.Removed, img.ID)
		case images.ImageStatusSaving, images.ImageStatusImporting, "uploading":
			if since := time.Since(img.UpdatedAt); since < stale {
				return res, fmt.Errorf("publishing to OpenStack: image %q (%s) has been %s since %s, another upload may be running; wait, or delete it (openstack image delete %s)", res.Name, img.ID, img.Status, img.UpdatedAt.Format(time.RFC3339), img.ID)
			}
			if err := remove(ctx, client, img); err != nil {
				return res, err
			}
			res.Removed = append(res.Removed, img.ID)
		}
	}
	res.ID, err = upload(ctx, client, cfg, file, local, s, o)
	if err != nil {
		return res, err
	}
	for _, img := range replace {
		if err := remove(ctx, client, img); err != nil {
			return res, err
		}
		res.Removed = append(res.Removed, img.ID)
	}
	return res, nil
}

// ours lists the images named name that this package made (tag packer) in
// project (any, when the project is unknown: Glance without Keystone), of
// every visibility (Glance leaves community images out unless asked).
func ours(ctx context.Context, client *gophercloud.ServiceClient, name, project string) ([]images.Image, error) {
	pages, err := images.List(client, images.ListOpts{Name: name, Tags: []string{Tag}, Owner: project, Visibility: "all"}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the images named %q: %w", name, apiError(err))
	}
	all, err := images.ExtractImages(pages)
	if err != nil {
		return nil, fmt.Errorf("listing the images named %q: %w", name, err)
	}
	return all, nil
}

// upload creates the image, streams file into it, waits until it is active
// and checks its hash. An image that does not get there is deleted.
func upload(ctx context.Context, client *gophercloud.ServiceClient, cfg *config.Config, file string, local hashes, s Settings, o Options) (string, error) {
	name := ImageName(cfg)
	opts := images.CreateOpts{
		Name:            name,
		DiskFormat:      "qcow2",
		ContainerFormat: "bare",
		Tags:            []string{Tag, cfg.Site.Version},
		Properties: map[string]string{
			"os_distro":           osDistro(cfg.OS.OSName),
			"os_version":          cfg.OS.OSVersion,
			"hw_disk_bus":         "virtio",
			"hw_qemu_guest_agent": "yes",
		},
	}
	if s.Visibility != "" {
		v := images.ImageVisibility(s.Visibility)
		opts.Visibility = &v
	}
	img, err := images.Create(ctx, client, opts).Extract()
	if err != nil {
		return "", fmt.Errorf("creating image %q: %w", name, apiError(err))
	}
	ok := false
	defer func() {
		if !ok {
			// Never leave a queued or broken image behind, even when
			// ctx is what ended the upload.
			cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			images.Delete(cleanup, client, img.ID)
		}
	}()
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("uploading %q: %w", file, err)
	}
	defer f.Close()
	meter := progress.New(o.Out, "glance: "+name, local.size, 0)
	err = imagedata.Upload(ctx, client, img.ID, io.TeeReader(ctxio.Reader(ctx, f), meter)).ExtractErr()
	meter.Done()
	if err != nil {
		return "", fmt.Errorf("uploading %q to image %q (%s): %w", filepath.Base(file), name, img.ID, apiError(err))
	}
	got, err := waitActive(ctx, client, img.ID, s.Timeout, o.PollInterval)
	if err != nil {
		return "", err
	}
	if !local.matches(*got) {
		return "", fmt.Errorf("checking image %q (%s): Glance holds other data than %q (%s); the upload was damaged, run it again", name, img.ID, filepath.Base(file), local.describe(*got))
	}
	if s.Protected {
		if _, err := images.Update(ctx, client, img.ID, images.UpdateOpts{images.ReplaceImageProtected{NewProtected: true}}).Extract(); err != nil {
			return "", fmt.Errorf("protecting image %q (%s): %w", name, img.ID, apiError(err))
		}
	}
	ok = true
	return img.ID, nil
}

// waitActive polls the image until it is active, within timeout.
func waitActive(ctx context.Context, client *gophercloud.ServiceClient, id string, timeout, interval time.Duration) (*images.Image, error) {
	if timeout == 0 {
		timeout = 30 * time.Minute
	}
	if interval == 0 {
		interval = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	for {
		img, err := images.Get(ctx, client, id).Extract()
		if err == nil {
			last = string(img.Status)
			switch img.Status {
			case images.ImageStatusActive:
				return img, nil
			case images.ImageStatusKilled, images.ImageStatusDeleted, images.ImageStatusPendingDelete:
				return nil, fmt.Errorf("waiting for image %s: Glance set it %s", id, img.Status)
			}
		} else if ctx.Err() == nil {
			return nil, fmt.Errorf("waiting for image %s: %w", id, apiError(err))
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("waiting for image %s: not active after %s (last status %q); OS_IMAGE_TIMEOUT allows longer", id, timeout, last)
			}
			return nil, fmt.Errorf("waiting for image %s: %w", id, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// remove deletes an image this package made, unprotecting it first.
func remove(ctx context.Context, client *gophercloud.ServiceClient, img images.Image) error {
	if img.Protected {
		if _, err := images.Update(ctx, client, img.ID, images.UpdateOpts{images.ReplaceImageProtected{NewProtected: false}}).Extract(); err != nil {
			return fmt.Errorf("unprotecting image %q (%s) to replace it: %w", img.Name, img.ID, apiError(err))
		}
	}
	if err := images.Delete(ctx, client, img.ID).ExtractErr(); err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return fmt.Errorf("deleting image %q (%s, %s) to replace it: %w", img.Name, img.ID, img.Status, apiError(err))
	}
	return nil
}

// hashes are the local file's size and the digests Glance computes.
type hashes struct {
	size        int64
	sha512, md5 string
}

// hashFile reads file once for both digests, with progress.
func hashFile(ctx context.Context, file string, out io.Writer) (hashes, error) {
	f, err := os.Open(file)
	if err != nil {
		return hashes{}, fmt.Errorf("hashing %q: %w", file, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return hashes{}, fmt.Errorf("hashing %q: %w", file, err)
	}
	s, m := sha512.New(), md5.New() //nolint:gosec
	meter := progress.New(out, "sha512: "+filepath.Base(file), info.Size(), 0)
	n, err := io.Copy(io.MultiWriter(s, m, meter), ctxio.Reader(ctx, f))
	meter.Done()
	if err != nil {
		return hashes{}, fmt.Errorf("hashing %q: %w", file, err)
	}
	return hashes{size: n, sha512: hex.EncodeToString(s.Sum(nil)), md5: hex.EncodeToString(m.Sum(nil))}, nil
}

// matches tells whether img holds the file: os_hash_value when Glance
// hashed with sha512, else the md5 checksum; and the size.
func (h hashes) matches(img images.Image) bool {
	if img.SizeBytes != h.size {
		return false
	}
	algo, _ := img.Properties["os_hash_algo"].(string)
	value, _ := img.Properties["os_hash_value"].(string)
	if algo == "sha512" && value != "" {
		return value == h.sha512
	}
	return img.Checksum != "" && img.Checksum == h.md5
}

// describe says what differs, for errors.
func (h hashes) describe(img images.Image) string {
	algo, _ := img.Properties["os_hash_algo"].(string)
	value, _ := img.Properties["os_hash_value"].(string)
	if algo == "sha512" && value != "" {
		return fmt.Sprintf("Glance: %d bytes, sha512 %.16s...; file: %d bytes, sha512 %.16s...", img.SizeBytes, value, h.size, h.sha512)
	}
	return fmt.Sprintf("Glance: %d bytes, md5 %q; file: %d bytes, md5 %s", img.SizeBytes, img.Checksum, h.size, h.md5)
}

// osDistro is the os_distro value (libosinfo's short names) for os_name.
func osDistro(osName string) string {
	n := strings.ToLower(strings.ReplaceAll(osName, " ", ""))
	switch {
	case slices.Contains([]string{"redhat", "rhel", "redhatenterpriselinux"}, n):
		return "rhel"
	case strings.HasPrefix(n, "rocky"):
		return "rocky"
	}
	return n
}

// apiError is one line for a Glance or Keystone error: the status, the
// request and the first line of the answer.
func apiError(err error) error {
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		body, _, _ := strings.Cut(strings.TrimSpace(string(code.Body)), "\n")
		return shorterr.New(fmt.Sprintf("HTTP %d from %s %s: %.200s", code.Actual, code.Method, code.URL, body), err)
	}
	return oneLine(err)
}
