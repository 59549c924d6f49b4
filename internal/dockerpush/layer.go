package dockerpush

import (
	"context"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"gold-standard-images/internal/layerdigest"
)

// fileLayer is the gzip tarball at path as an OCI layer whose digests and
// size come from its record (internal/layerdigest), written by
// artifacts:convert or by the first push: go-containerregistry then needs
// no pass over the file to learn them, and only an upload opens it.
type fileLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
}

// newFileLayer is the layer of the gzip tarball at path.
func newFileLayer(ctx context.Context, path string) (*fileLayer, error) {
	d, err := layerdigest.Of(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("building image: %w", err) // err names the file
	}
	l := &fileLayer{path: path, size: d.Size}
	if l.digest, err = v1.NewHash(d.Digest); err == nil {
		l.diffID, err = v1.NewHash(d.DiffID)
	}
	if err != nil {
		return nil, fmt.Errorf("building image from %q: %w", path, err)
	}
	return l, nil
}

func (l *fileLayer) Digest() (v1.Hash, error)             { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)             { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                 { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error)  { return types.OCILayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)   { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) { return gunzipFile(l.path) }

// gunzipFile opens the gzip file at path for reading its content.
func gunzipFile(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}
