package ctxio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestAReaderStopsWhenItsContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := Reader(ctx, strings.NewReader(strings.Repeat("x", 1<<20)))
	buf := make([]byte, 1024)
	if n, err := r.Read(buf); n != 1024 || err != nil {
		t.Fatalf("before cancel: %d, %v", n, err)
	}
	cancel()
	var out bytes.Buffer
	n, err := io.Copy(&out, r)
	if n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: copied %d, %v; want nothing and context.Canceled", n, err)
	}
}

func TestAReaderPassesEverythingWhileItsContextLasts(t *testing.T) {
	data := strings.Repeat("gold", 100000)
	var out bytes.Buffer
	if _, err := io.Copy(&out, Reader(context.Background(), strings.NewReader(data))); err != nil || out.String() != data {
		t.Errorf("copied %d bytes, %v; want all %d", out.Len(), err, len(data))
	}
}
