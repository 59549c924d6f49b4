// Package hashfile computes SHA-256 digests of files and streams, the one
// hashing engine of the project (ISOs, SHA256SUM files, the catalog,
// uploads). Reading and hashing overlap: the caller's goroutine reads or
// writes into large buffers while a goroutine of the Writer hashes the
// full ones, so a big file keeps the disk (or network) and a core busy at
// the same time.
package hashfile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"gold-standard-images/internal/progress"
)

// bufSize is the size of each buffer: large reads keep the number of system
// calls per GiB low. bufs buffers are in flight at once.
const (
	bufSize = 1 << 20
	bufs    = 4
)

var pool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// File returns the lower-case hex SHA-256 of the file at path, stopping
// when ctx is done.
func File(ctx context.Context, path string) (string, error) {
	return FileWithProgress(ctx, path, nil, "")
}

// FileWithProgress is File showing progress lines labelled label on out
// (see package progress); a nil out is silent.
func FileWithProgress(ctx context.Context, path string, out io.Writer, label string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing %q: %w", path, err)
	}
	defer f.Close()
	var r io.Reader = f
	if out != nil {
		var size int64
		if info, err := f.Stat(); err == nil {
			size = info.Size()
		}
		m := progress.New(out, label, size, 0)
		defer m.Done()
		r = io.TeeReader(f, m)
	}
	h := sha256.New()
	if _, err := Copy(ctx, h, r); err != nil {
		return "", fmt.Errorf("hashing %q: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Copy feeds r to h until EOF and returns the number of bytes hashed. r is
// read straight into the Writer's buffers while they are hashed; ctx is
// checked between reads.
func Copy(ctx context.Context, h hash.Hash, r io.Reader) (int64, error) {
	w := NewWriter(h)
	n, err := w.CopyFrom(ctx, r)
	w.Close()
	return n, err
}

// Writer hashes what is written to it in a goroutine of its own, so
// hashing overlaps with the reads and writes of a transfer instead of
// adding to them. Close it before reading the hash.
type Writer struct {
	full chan chunk
	free chan *[]byte
	done chan struct{}
	cur  *[]byte // buffer being filled; nil when none
	n    int     // bytes in cur
}

type chunk struct {
	buf *[]byte
	n   int
}

// NewWriter starts a Writer feeding h.
func NewWriter(h hash.Hash) *Writer {
	w := &Writer{full: make(chan chunk, bufs), free: make(chan *[]byte, bufs), done: make(chan struct{})}
	for range bufs {
		w.free <- pool.Get().(*[]byte)
	}
	go func() {
		defer close(w.done)
		for c := range w.full {
			h.Write((*c.buf)[:c.n])
			w.free <- c.buf
		}
	}()
	return w
}

// Write queues a copy of p for hashing; it never fails.
func (w *Writer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(w.buffer(), p)
		p = p[k:]
		w.filled(k)
	}
	return n, nil
}

// CopyFrom reads r straight into the buffers until EOF, checking ctx
// between reads, and returns the number of bytes read.
func (w *Writer) CopyFrom(ctx context.Context, r io.Reader) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		k, err := io.ReadFull(r, w.buffer())
		total += int64(k)
		w.filled(k)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("after %d bytes: %w", total, err)
		}
	}
}

// buffer is the free part of the buffer being filled, taking a new one
// when there is none.
func (w *Writer) buffer() []byte {
	if w.cur == nil {
		w.cur, w.n = <-w.free, 0
	}
	return (*w.cur)[w.n:]
}

// filled records k more bytes in the current buffer and sends it to the
// hasher when it is full.
func (w *Writer) filled(k int) {
	w.n += k
	if w.n == bufSize {
		w.send()
	}
}

func (w *Writer) send() {
	w.full <- chunk{w.cur, w.n}
	w.cur = nil
}

// Close waits until the hash has taken every byte written. The Writer must
// not be used afterwards.
func (w *Writer) Close() error {
	if w.cur != nil && w.n > 0 {
		w.send()
	}
	close(w.full)
	<-w.done
	if w.cur != nil {
		pool.Put(w.cur)
	}
	close(w.free)
	for b := range w.free {
		pool.Put(b)
	}
	return nil
}
