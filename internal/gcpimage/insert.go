package gcpimage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"
	compute "google.golang.org/api/compute/v1"
	"google.golang.org/api/googleapi"

	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/httpretry"
	"gold-standard-images/internal/shorterr"
)

const computeRole = "roles/compute.storageAdmin (or compute.images.create) in the project"

// Existing reports whether the image img.Name is there, READY and made
// from the same object and size; an image of that name that is anything
// else is an error saying how to delete it.
func Existing(ctx context.Context, svc *compute.Service, s Settings, img *compute.Image, size int64, o Options) (bool, error) {
	var got *compute.Image
	err := retry(ctx, o, func(ctx context.Context) (err error) {
		got, err = svc.Images.Get(s.Project, img.Name).Context(ctx).Do()
		return err
	})
	switch {
	case httpCode(err) == http.StatusNotFound:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("publishing to GCP: reading image %q: %w", img.Name, explain(err, computeRole))
	}
	deleteIt := fmt.Sprintf("delete it (gcloud compute images delete %s --project %s) or publish another version", img.Name, s.Project)
	switch {
	case got.RawDisk == nil || got.RawDisk.Source != img.RawDisk.Source || (got.ArchiveSizeBytes != 0 && got.ArchiveSizeBytes != size):
		return false, fmt.Errorf("publishing to GCP: image %q exists but was made from another file (%s, status %s); %s", img.Name, rawSource(got), got.Status, deleteIt)
	case got.Status != "READY":
		return false, fmt.Errorf("publishing to GCP: image %q exists with status %s; wait for it, or %s", img.Name, got.Status, deleteIt)
	}
	say(o, "image %s already there", img.Name)
	return true, nil
}

// create inserts img and waits until it is READY, within s.Timeout. Calls
// answered 429 or 5xx are retried; images.insert carries a request id, so a
// retried insert never makes two images.
func create(ctx context.Context, svc *compute.Service, s Settings, img *compute.Image, o Options) error {
	say(o, "creating image %s from %s", img.Name, img.RawDisk.Source)
	request := requestID()
	var op *compute.Operation
	err := retry(ctx, o, func(ctx context.Context) (err error) {
		op, err = svc.Images.Insert(s.Project, img).RequestId(request).Context(ctx).Do()
		return err
	})
	if err != nil {
		return fmt.Errorf("publishing to GCP: creating image %q: %w", img.Name, explain(err, computeRole))
	}
	if err := wait(ctx, svc, s, op, img.Name, o); err != nil {
		return err
	}
	say(o, "image %s created", img.Name)
	return nil
}

func rawSource(img *compute.Image) string {
	if img.RawDisk != nil && img.RawDisk.Source != "" {
		return img.RawDisk.Source
	}
	return "no raw disk"
}

// wait polls the global operation until DONE, within s.Timeout.
func wait(ctx context.Context, svc *compute.Service, s Settings, op *compute.Operation, name string, o Options) error {
	timeout, every := s.Timeout, o.PollInterval
	if timeout == 0 {
		timeout = time.Hour
	}
	if every == 0 {
		every = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if op.Status == "DONE" {
			if op.Error != nil && len(op.Error.Errors) > 0 {
				e := op.Error.Errors[0]
				return fmt.Errorf("publishing to GCP: creating image %q failed: %s: %s", name, e.Code, shorterr.FirstLine(e.Message))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("publishing to GCP: image %q not done after %s (%s sets the limit); it goes on in GCP: gcloud compute operations describe %s --global --project %s", name, timeout, envvar.GCPImageTimeout.Name, op.Name, s.Project)
			}
			return ctx.Err()
		case <-time.After(every):
		}
		var next *compute.Operation
		err := retry(ctx, o, func(ctx context.Context) (err error) {
			next, err = svc.GlobalOperations.Get(s.Project, op.Name).Context(ctx).Do()
			return err
		})
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("publishing to GCP: waiting for image %q: %w", name, explain(err, computeRole))
		}
		if err == nil {
			op = next
		}
	}
}

// callTimeout bounds each call to the Compute and Cloud Storage APIs and
// each chunk of the upload: the libraries bound none, so a connection that
// stalls would hang upload:gcp for good. A 16 MiB chunk needs 140 KB/s to
// go within it.
var callTimeout = 2 * time.Minute

// retry runs call, each time within callTimeout, again after a 429 or 5xx
// answer, up to 5 times, waiting as the answer's Retry-After says, else
// o.RetryDelay doubling.
func retry(ctx context.Context, o Options, call func(context.Context) error) error {
	first := o.RetryDelay
	if first == 0 {
		first = time.Second
	}
	for attempt := 1; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		err := call(callCtx)
		cancel()
		code := httpCode(err)
		if err == nil || attempt == 5 || (code != http.StatusTooManyRequests && code < 500) {
			return err
		}
		var header http.Header
		if ge := (*googleapi.Error)(nil); errors.As(err, &ge) {
			header = ge.Header
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(httpretry.Delay(first, 32*first, attempt-1, code, header)):
		}
	}
}

func say(o Options, format string, args ...any) {
	if o.Out != nil {
		fmt.Fprintf(o.Out, ">> gcp: "+format+"\n", args...)
	}
}

// requestID is a random UUID (version 4), which images.insert takes to
// recognise a retried request.
func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// httpCode is the HTTP status of a Google API error, 0 if it has none.
func httpCode(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

const credentialAdvice = "run gcloud auth application-default login, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file"

// oneLine is err in one line: an API error as its status, reason and first
// line of message; a refused token as what to do about it.
func oneLine(err error) error {
	var ge *googleapi.Error
	var re *oauth2.RetrieveError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		code := re.ErrorCode
		if code == "" && re.Response != nil {
			code = re.Response.Status
		}
		return shorterr.New(fmt.Sprintf("Google refused the credentials (%s; expired or wrong): %s", code, credentialAdvice), err)
	case errors.As(err, &ge):
		line := fmt.Sprintf("HTTP %d", ge.Code)
		if len(ge.Errors) > 0 && ge.Errors[0].Reason != "" {
			line += " " + ge.Errors[0].Reason
		}
		if msg := shorterr.FirstLine(ge.Message); msg != "" {
			line += ": " + msg
		}
		if ge.Code == http.StatusUnauthorized {
			line += " (" + credentialAdvice + ")"
		}
		return shorterr.New(line, err)
	}
	return shorterr.New(shorterr.FirstLine(err.Error()), err)
}

// explain is oneLine with, on a 403, the role the credentials lack.
func explain(err error, role string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	short := oneLine(err)
	if httpCode(err) == http.StatusForbidden {
		return shorterr.New(short.Error()+" (the credentials need "+role+")", err)
	}
	return short
}
