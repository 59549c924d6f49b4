// Package ctxio stops long copies when their context ends: io.Copy takes
// no context, so a reader that checks it between reads is what makes a
// multi-gigabyte upload or archive stop on Ctrl-C.
package ctxio

import (
	"context"
	"io"
)

// Reader reads r until ctx ends, then fails with ctx's error.
func Reader(ctx context.Context, r io.Reader) io.Reader { return reader{ctx, r} }

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
