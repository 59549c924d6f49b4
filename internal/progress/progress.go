// Package progress reports the progress of long transfers: a line redrawn in
// place on a terminal, a plain line every few seconds elsewhere (CI), and
// always a final line with size, time and rate.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Meter counts bytes of one transfer and prints its progress to Out.
type Meter struct {
	Label string    // what is transferred, e.g. "iso: CentOS-7-x86_64-Minimal-2009.iso"
	Total int64     // expected size, 0 when unknown
	Out   io.Writer // where lines go; nil is silent

	start    time.Time
	done     atomic.Int64 // bytes so far, including Resumed
	resumed  int64
	tty      bool
	interval time.Duration
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// New starts a meter for a transfer of total bytes (0 if unknown), of which
// resumed were already there before (a resumed download). Lines are redrawn
// every half second when out is a terminal, else printed every 5 seconds.
func New(out io.Writer, label string, total, resumed int64) *Meter {
	m := &Meter{Label: label, Total: total, Out: out, start: time.Now(), resumed: resumed, stop: make(chan struct{})}
	m.done.Store(resumed)
	m.tty = isTerminal(out)
	m.interval = 5 * time.Second
	if m.tty {
		m.interval = 500 * time.Millisecond
	}
	if out != nil {
		m.wg.Add(1)
		go m.loop()
	}
	return m
}

// Add records n more bytes; it is safe for concurrent use.
func (m *Meter) Add(n int64) { m.done.Add(n) }

// Write counts len(p) bytes, so a Meter can sit in an io.MultiWriter or io.TeeReader.
func (m *Meter) Write(p []byte) (int, error) {
	m.done.Add(int64(len(p)))
	return len(p), nil
}

// Done stops the periodic lines and prints the final one.
func (m *Meter) Done() {
	m.once.Do(func() {
		close(m.stop)
		m.wg.Wait()
		if m.Out == nil {
			return
		}
		elapsed := time.Since(m.start)
		moved := m.done.Load() - m.resumed
		prefix := ""
		if m.tty {
			prefix = "\r\033[K"
		}
		fmt.Fprintf(m.Out, "%s>> %s: %s in %s, %s/s\n", prefix, m.Label, Bytes(m.done.Load()), elapsed.Round(100*time.Millisecond), Bytes(rate(moved, elapsed)))
	})
}

func (m *Meter) loop() {
	defer m.wg.Done()
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.print()
		}
	}
}

func (m *Meter) print() {
	done := m.done.Load()
	elapsed := time.Since(m.start)
	r := rate(done-m.resumed, elapsed)
	line := fmt.Sprintf(">> %s: %s", m.Label, Bytes(done))
	if m.Total > 0 {
		line += fmt.Sprintf(" of %s (%d%%)", Bytes(m.Total), done*100/m.Total)
	}
	line += fmt.Sprintf(", %s/s", Bytes(r))
	if m.Total > 0 && r > 0 && done < m.Total {
		eta := time.Duration(float64(m.Total-done) / float64(r) * float64(time.Second))
		line += fmt.Sprintf(", %s left", eta.Round(time.Second))
	}
	if m.tty {
		fmt.Fprintf(m.Out, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(m.Out, line)
	}
}

func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

// Bytes formats n as a human size: "512 B", "3.2 MB", "4.1 GB" (powers of 1000).
func Bytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
