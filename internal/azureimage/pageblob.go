package azureimage

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
	"golang.org/x/sync/errgroup"

	"gold-standard-images/internal/progress"
	"gold-standard-images/internal/shorterr"
)

const (
	pageSize = 512     // a page blob is written in whole 512-byte pages
	maxWrite = 4 << 20 // the most one UploadPages call takes
	// mergeGap: zero runs shorter than this between data are sent with it,
	// one request instead of many tiny ones.
	mergeGap = 64 << 10
)

// FixedVHD refuses file unless it ends in the footer of a fixed VHD (cookie
// "conectix", disk type 2), the one kind Azure takes: a dynamic or
// differencing VHD refers to other data (a differencing one to a parent
// file, which whatever opens it would read from its own host).
func FixedVHD(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("checking the VHD %q: %w", file, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("checking the VHD %q: %w", file, err)
	}
	footer := make([]byte, pageSize)
	if info.Size() < pageSize {
		return fmt.Errorf("checking the VHD %q: %d bytes, too short for a VHD footer", file, info.Size())
	}
	if _, err := f.ReadAt(footer, info.Size()-pageSize); err != nil {
		return fmt.Errorf("checking the VHD %q: %w", file, err)
	}
	if string(footer[:8]) != "conectix" {
		return fmt.Errorf("checking the VHD %q: no VHD footer at its end; Azure takes a fixed VHD (mage artifacts:convert makes one)", file)
	}
	if kind := binary.BigEndian.Uint32(footer[60:64]); kind != vhdFixed {
		return fmt.Errorf("checking the VHD %q: its disk type is %d (%s), want %d (fixed): Azure takes a fixed VHD, and a differencing one names a parent file", file, kind, vhdTypes[kind], vhdFixed)
	}
	return nil
}

// The disk types of a VHD footer.
const vhdFixed = 2

var vhdTypes = map[uint32]string{2: "fixed", 3: "dynamic", 4: "differencing"}

// Upload writes file (its sha256 is sum) to the page blob name in the
// container at containerURL, creating the container if missing. Pages that
// are all zero are not sent (a new page blob reads as zeros), up to
// Options.Concurrency ranges of at most 4 MiB go at once. The blob carries
// MetaUploading=sum while pages are written and MetaSHA256=sum only when all
// are: a re-run skips a finished blob with that sha256 (reporting true),
// resumes an unfinished one of the same VHD, and starts any other over.
func Upload(ctx context.Context, file, sum, containerURL, name string, o Options) (skipped bool, err error) {
	f, err := os.Open(file)
	if err != nil {
		return false, fmt.Errorf("uploading %q: %w", file, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("uploading %q: %w", file, err)
	}
	size := info.Size()
	if size%pageSize != 0 {
		return false, fmt.Errorf("uploading %q: its size %d is not a whole number of 512-byte pages; Azure takes a fixed VHD (mage artifacts:convert makes one)", file, size)
	}
	cc, err := containerClient(containerURL, o)
	if err != nil {
		return false, err
	}
	if _, err := cc.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return false, fmt.Errorf("creating blob container %s: %w", containerURL, storageError(err))
	}
	bc := cc.NewPageBlobClient(name)
	target := bc.URL()
	var done spans
	resume := false
	props, err := bc.GetProperties(ctx, nil)
	switch {
	case err == nil:
		meta := lowerKeys(props.Metadata)
		same := props.ContentLength != nil && *props.ContentLength == size
		if same && meta[MetaSHA256] == sum {
			return true, nil
		}
		if same && meta[MetaSHA256] == "" && meta[MetaUploading] == sum {
			if done, err = written(ctx, bc); err != nil {
				return false, fmt.Errorf("reading the pages of %s: %w", target, storageError(err))
			}
			resume = true
		}
	case bloberror.HasCode(err, bloberror.BlobNotFound) || statusOf(err) == http.StatusNotFound:
	default:
		return false, fmt.Errorf("checking %s: %w", target, storageError(err))
	}
	if !resume {
		_, err := bc.Create(ctx, size, &pageblob.CreateOptions{Metadata: map[string]*string{MetaUploading: &sum}})
		if err != nil {
			return false, fmt.Errorf("creating page blob %s: %w", target, storageError(err))
		}
	} else if o.Out != nil {
		fmt.Fprintf(o.Out, ">> azure: resuming %s, %s of pages already there\n", target, progress.Bytes(done.total()))
	}
	meter := progress.New(o.Out, "azure: "+target, size, 0)
	err = writePages(ctx, f, size, bc, done, o, meter)
	meter.Done()
	if err != nil {
		return false, fmt.Errorf("uploading %q to %s: %w", file, target, storageError(err))
	}
	if _, err := bc.SetMetadata(ctx, map[string]*string{MetaSHA256: &sum}, nil); err != nil {
		return false, fmt.Errorf("marking %s complete: %w", target, storageError(err))
	}
	return false, nil
}

func containerClient(containerURL string, o Options) (*container.Client, error) {
	opts := &container.ClientOptions{ClientOptions: o.client()}
	var cc *container.Client
	var err error
	if o.SharedKey != nil {
		cc, err = container.NewClientWithSharedKeyCredential(containerURL, o.SharedKey, opts)
	} else {
		cc, err = container.NewClient(containerURL, o.Credential, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", containerURL, oneLine(err))
	}
	return cc, nil
}

// writePages sends the data runs of every 4 MiB chunk of f not already in
// done, o.Concurrency chunks at once, each worker with one 4 MiB buffer.
func writePages(ctx context.Context, f *os.File, size int64, bc *pageblob.Client, done spans, o Options, meter *progress.Meter) error {
	workers := o.Concurrency
	if workers <= 0 {
		workers = 4
	}
	g, ctx := errgroup.WithContext(ctx)
	next := make(chan int64)
	g.Go(func() error {
		defer close(next)
		for off := int64(0); off < size; off += maxWrite {
			select {
			case next <- off:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range workers {
		g.Go(func() error {
			buf := make([]byte, maxWrite)
			for off := range next {
				chunk := buf[:min(maxWrite, size-off)]
				if _, err := f.ReadAt(chunk, off); err != nil {
					return err
				}
				for _, r := range dataRuns(chunk) {
					if done.covers(off+r.start, off+r.end) {
						continue
					}
					data := chunk[r.start:r.end]
					sum := md5.Sum(data)
					_, err := bc.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(data)),
						blob.HTTPRange{Offset: off + r.start, Count: r.end - r.start},
						&pageblob.UploadPagesOptions{TransactionalValidation: blob.TransferValidationTypeMD5(sum[:])})
					if err != nil {
						return err
					}
				}
				meter.Add(int64(len(chunk)))
			}
			return nil
		})
	}
	return g.Wait()
}

// span is the byte range [start, end).
type span struct{ start, end int64 }

// spans are sorted, non-overlapping ranges.
type spans []span

func (s spans) covers(start, end int64) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].end >= end })
	return i < len(s) && s[i].start <= start
}

func (s spans) total() (n int64) {
	for _, r := range s {
		n += r.end - r.start
	}
	return n
}

// written is the page ranges of the blob that hold data, adjacent ones joined.
func written(ctx context.Context, bc *pageblob.Client) (spans, error) {
	var out spans
	pager := bc.NewGetPageRangesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.PageList.PageRange {
			if r.Start == nil || r.End == nil {
				continue
			}
			out = append(out, span{*r.Start, *r.End + 1}) // End is inclusive
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	joined := out[:0]
	for _, r := range out {
		if n := len(joined); n > 0 && r.start <= joined[n-1].end {
			joined[n-1].end = max(joined[n-1].end, r.end)
			continue
		}
		joined = append(joined, r)
	}
	return joined, nil
}

var zeroPage [pageSize]byte

// dataRuns are the ranges of chunk (a whole number of pages) holding
// non-zero pages; zero gaps shorter than mergeGap stay inside a run.
func dataRuns(chunk []byte) []span {
	var runs []span
	for off := int64(0); off < int64(len(chunk)); off += pageSize {
		if bytes.Equal(chunk[off:off+pageSize], zeroPage[:]) {
			continue
		}
		if n := len(runs); n > 0 && off-runs[n-1].end < mergeGap {
			runs[n-1].end = off + pageSize
			continue
		}
		runs = append(runs, span{off, off + pageSize})
	}
	return runs
}

// lowerKeys is blob metadata with lower-case keys (services differ in case).
func lowerKeys(m map[string]*string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[strings.ToLower(k)] = *v
		}
	}
	return out
}

// storageError says a storage failure in one line, with what to do for the
// usual ones.
func storageError(err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case statusOf(err) == http.StatusForbidden:
		return shorterr.New(oneLine(err).Error()+" (the credentials need the role Storage Blob Data Contributor on the storage account)", err)
	case strings.Contains(err.Error(), "no such host"):
		return shorterr.New("the storage account's blob endpoint does not resolve: does the account exist? (az storage account create)", err)
	}
	return oneLine(err)
}
