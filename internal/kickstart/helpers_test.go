package kickstart

import (
	"bytes"
	"os"
	"strconv"
	"sync"
)

func itoa(n int) string { return strconv.Itoa(n) }

func chmod600(p string) error { return os.Chmod(p, 0o600) }

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
