package convert

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
)

// gzipBlock is how much input each worker compresses at a time. Each block
// is primed with the last 32 KiB of the one before, as pigz does, so the
// ratio stays close to a single-threaded gzip.
const (
	gzipBlock  = 1 << 20
	gzipWindow = 32 << 10
)

// parallelGzip is a gzip writer that compresses blocks on every core and
// writes one ordinary gzip member (not concatenated members), so any gzip
// reader takes it. The standard library's gzip is single-threaded, and a
// multi-GiB disk would otherwise be limited to one core. Each block is
// compressed with klauspost/compress's flate, about three times as fast as
// the standard library's for an output a few percent bigger (levels keep
// their meaning: gzip.BestSpeed, gzip.DefaultCompression).
type parallelGzip struct {
	w      io.Writer
	level  int
	buf    []byte // input not yet handed to a worker
	prev   []byte // last window of the previous block: the next one's dictionary
	crc    uint32
	size   uint32
	jobs   chan chan gzResult // in order: the writer goroutine drains them
	done   chan error
	sem    chan struct{} // bounds the blocks in flight
	err    error
	closed bool
	failed atomic.Pointer[error] // the drain hit an error: stop taking input
}

type gzResult struct {
	data  []byte
	err   error
	block bool // a compressed block, holding a slot of sem
}

var blockPool = sync.Pool{New: func() any { b := make([]byte, 0, gzipBlock); return &b }}

// newParallelGzip starts a gzip stream on w at the given flate level.
func newParallelGzip(w io.Writer, level int) *parallelGzip {
	workers := runtime.GOMAXPROCS(0)
	z := &parallelGzip{
		w:     w,
		level: level,
		jobs:  make(chan chan gzResult, 2*workers),
		done:  make(chan error, 1),
		sem:   make(chan struct{}, 2*workers),
	}
	b := blockPool.Get().(*[]byte)
	z.buf = (*b)[:0]
	go z.drain()
	// Header: magic, deflate, no flags, no mtime, no extra flags, OS unix.
	z.jobs <- ready([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3})
	return z
}

func ready(b []byte) chan gzResult {
	c := make(chan gzResult, 1)
	c <- gzResult{data: b}
	return c
}

// drain writes the compressed blocks in order.
func (z *parallelGzip) drain() {
	var err error
	for c := range z.jobs {
		r := <-c
		if err == nil {
			err = r.err
		}
		if err == nil {
			_, err = z.w.Write(r.data)
		}
		if r.block {
			<-z.sem
		}
		if err != nil {
			z.failed.Store(&err)
		}
	}
	z.done <- err
}

func (z *parallelGzip) Write(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if e := z.failed.Load(); e != nil {
		return 0, *e
	}
	n := len(p)
	z.crc = crc32.Update(z.crc, crc32.IEEETable, p)
	z.size += uint32(n)
	for len(p) > 0 {
		k := copy(z.buf[len(z.buf):cap(z.buf)], p)
		z.buf = z.buf[:len(z.buf)+k]
		p = p[k:]
		if len(z.buf) == cap(z.buf) {
			z.flushBlock(false)
		}
	}
	return n, nil
}

// flushBlock hands the buffered input to a worker.
func (z *parallelGzip) flushBlock(last bool) {
	in := z.buf
	dict := z.prev
	// The next dictionary is the tail of this block (copied: the block
	// buffer goes back to the pool once compressed).
	tail := in
	if len(tail) > gzipWindow {
		tail = tail[len(tail)-gzipWindow:]
	}
	z.prev = append([]byte(nil), tail...)
	c := make(chan gzResult, 1)
	z.sem <- struct{}{}
	z.jobs <- c
	go func() {
		var out bytes.Buffer
		out.Grow(len(in)/2 + 1024)
		fw, err := flate.NewWriterDict(&out, z.level, dict)
		if err == nil {
			_, err = fw.Write(in)
		}
		if err == nil {
			if last {
				err = fw.Close()
			} else {
				err = fw.Flush() // byte-aligned, not final: blocks concatenate
			}
		}
		in = in[:0]
		blockPool.Put(&in)
		c <- gzResult{data: out.Bytes(), err: err, block: true}
	}()
	b := blockPool.Get().(*[]byte)
	z.buf = (*b)[:0]
}

// Close writes the last block and the gzip trailer, and waits for every
// block to be written. It does not close the underlying writer.
func (z *parallelGzip) Close() error {
	if z.closed {
		return z.err
	}
	z.closed = true
	if z.err == nil {
		z.flushBlock(true)
		trailer := make([]byte, 8)
		binary.LittleEndian.PutUint32(trailer[0:], z.crc)
		binary.LittleEndian.PutUint32(trailer[4:], z.size)
		z.jobs <- ready(trailer)
	}
	close(z.jobs)
	if err := <-z.done; err != nil && z.err == nil {
		z.err = err
	}
	if z.err == nil {
		return nil
	}
	return fmt.Errorf("compressing: %w", z.err)
}
