package iso

import (
	"os"
	"syscall"
	"time"
)

// startWriteback asks the kernel to start writing path's dirty pages to
// disk every 32 MiB it grows, so the fsync before the final rename finds
// little left to do instead of stalling for the whole ISO. It returns the
// function that stops it.
func startWriteback(path string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			f, err := os.Open(path)
			if err != nil {
				continue
			}
			if info, err := f.Stat(); err == nil && (info.Size() < last || info.Size()-last >= 32<<20) {
				last = info.Size()
				const syncFileRangeWrite = 2 // SYNC_FILE_RANGE_WRITE: start writeback, do not wait
				syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, f.Fd(), 0, 0, syncFileRangeWrite, 0, 0)
			}
			f.Close()
		}
	}()
	return func() { close(done); <-finished }
}
