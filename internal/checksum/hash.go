package checksum

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"gold-standard-images/internal/hashfile"
)

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
				sum, err := hashfile.File(ctx, paths[i])
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
