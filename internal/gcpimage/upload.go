package gcpimage

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"

	"gold-standard-images/internal/progress"
)

// Upload puts file into s.Bucket as object name with a resumable upload
// (chunks of o.ChunkSize; a chunk cut off is sent again, not the whole
// file), declaring its CRC32C so the service checks it. It skips the
// upload, reporting true, when the object is there with the same size and
// CRC32C (and MD5, where the object has one).
func Upload(ctx context.Context, client *storage.Client, file string, s Settings, name string, o Options) (skipped bool, err error) {
	where := "gs://" + s.Bucket + "/" + name
	if _, err := client.Bucket(s.Bucket).Attrs(ctx); errors.Is(err, storage.ErrBucketNotExist) {
		return false, fmt.Errorf("publishing to GCP: bucket %q does not exist: create it with: gcloud storage buckets create gs://%s --project %s --location <region>", s.Bucket, s.Bucket, s.Project)
	} else if err != nil {
		return false, fmt.Errorf("publishing to GCP: reading bucket %q: %w", s.Bucket, explain(err, "roles/storage.objectAdmin on the bucket"))
	}
	size, crc, sum, err := checksums(ctx, file)
	if err != nil {
		return false, fmt.Errorf("uploading %q: %w", file, err)
	}
	obj := client.Bucket(s.Bucket).Object(name)
	attrs, err := obj.Attrs(ctx)
	switch {
	case err == nil:
		if attrs.Size == size && attrs.CRC32C == crc && (len(attrs.MD5) == 0 || string(attrs.MD5) == string(sum)) {
			return true, nil
		}
		// Replace exactly the object seen: a precondition makes the upload
		// idempotent, so the library retries its chunks.
		obj = obj.If(storage.Conditions{GenerationMatch: attrs.Generation})
	case errors.Is(err, storage.ErrObjectNotExist):
		obj = obj.If(storage.Conditions{DoesNotExist: true})
	default:
		return false, fmt.Errorf("publishing to GCP: reading %s: %w", where, explain(err, "roles/storage.objectAdmin on the bucket"))
	}
	delay := o.RetryDelay
	if delay == 0 {
		delay = time.Second
	}
	obj = obj.Retryer(storage.WithBackoff(gax.Backoff{Initial: delay, Max: 32 * delay, Multiplier: 2}))
	f, err := os.Open(file)
	if err != nil {
		return false, fmt.Errorf("uploading %q: %w", file, err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := obj.NewWriter(ctx)
	w.ChunkSize = o.ChunkSize
	if w.ChunkSize == 0 {
		w.ChunkSize = 16 << 20
	}
	w.ContentType = "application/gzip"
	w.CRC32C, w.SendCRC32C = crc, true
	meter := progress.New(o.Out, "gcs: "+where, size, 0)
	var sent int64
	w.ProgressFunc = func(n int64) { meter.Add(n - sent); sent = n }
	_, err = io.Copy(w, f)
	if err != nil {
		cancel() // abandons the upload
		w.Close()
	} else {
		err = w.Close()
	}
	meter.Done()
	if err != nil {
		return false, fmt.Errorf("publishing to GCP: uploading %q to %s: %w", file, where, explain(err, "roles/storage.objectAdmin on the bucket"))
	}
	return false, nil
}

// checksums reads file once for its size, CRC32C (Castagnoli) and MD5.
func checksums(ctx context.Context, file string) (size int64, crc uint32, sum []byte, err error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, nil, err
	}
	defer f.Close()
	c, m := crc32.New(crc32.MakeTable(crc32.Castagnoli)), md5.New()
	size, err = io.Copy(io.MultiWriter(c, m), readerCtx{ctx, f})
	return size, c.Sum32(), m.Sum(nil), err
}

// readerCtx stops reading when ctx is done.
type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
