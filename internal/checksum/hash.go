package checksum

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"
)

// bufSize is the size of each read. Large reads keep the number of system
// calls per GiB low; readAhead buffers let one goroutine read the next
// chunks while another hashes, so even a single big file keeps the disk and
// a core busy at the same time.
const (
	bufSize   = 1 << 20
	readAhead = 4
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// HashFile returns the hex SHA-256 of the file at path.
func HashFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing %q: %w", path, err)
	}
	defer f.Close()
	sum, err := hashReader(ctx, f)
	if err != nil {
		return "", fmt.Errorf("hashing %q: %w", path, err)
	}
	return sum, nil
}

// hashReader hashes r with a reader goroutine filling buffers ahead of the
// hasher.
func hashReader(ctx context.Context, r io.Reader) (string, error) {
	type chunk struct {
		buf *[]byte
		n   int
		err error
	}
	full := make(chan chunk, readAhead)
	free := make(chan *[]byte, readAhead)
	for range readAhead {
		free <- bufPool.Get().(*[]byte)
	}
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var buf *[]byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			n, err := io.ReadFull(r, *buf)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			full <- chunk{buf, n, err}
			if err != nil {
				return
			}
		}
	}()
	h := sha256.New()
	var result error
	for c := range full {
		h.Write((*c.buf)[:c.n])
		free <- c.buf
		if c.err != nil {
			if c.err != io.EOF {
				result = c.err
			}
			break
		}
		if err := ctx.Err(); err != nil {
			result = err
			break
		}
	}
	close(stop)
	for c := range full { // let the reader finish before its buffers are reused
		bufPool.Put(c.buf)
	}
	close(free)
	for b := range free {
		bufPool.Put(b)
	}
	if result != nil {
		return "", result
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashPaths hashes every path with a pool of workers (one per CPU), biggest
// files first so that the longest job starts early. sizes gives each file's
// size for that ordering. It returns the digests in the order of paths and
// stops at the first error.
func hashPaths(ctx context.Context, paths []string, sizes []int64) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	order := make([]int, len(paths))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return sizes[order[a]] > sizes[order[b]] })

	jobs := make(chan int)
	sums := make([]string, len(paths))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	workers := min(runtime.GOMAXPROCS(0), len(paths))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				sum, err := HashFile(ctx, paths[i])
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					continue
				}
				sums[i] = sum
			}
		}()
	}
feed:
	for _, i := range order {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hashing: %w", err)
	}
	return sums, nil
}
