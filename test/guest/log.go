package guest

import (
	"bytes"
	"sync"
	"testing"
)

// LineLogger writes each whole line written to it to the test's log, so
// that a build's progress lines and tables read as they print.
type LineLogger struct {
	t       *testing.T
	mu      sync.Mutex
	partial []byte
}

// NewLineLogger returns a LineLogger of t.
func NewLineLogger(t *testing.T) *LineLogger { return &LineLogger{t: t} }

func (l *LineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.t.Log(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
}
