package kickstart

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"sync"
)

// Sent keeps the sha256 of the last kickstart the server sent for each
// build ("virtual/<provider>"), as it went over the wire, for the build
// record. The zero value is ready to use.
type Sent struct {
	mu   sync.Mutex
	sums map[string]string
}

// SHA256 is the sha256 of the last kickstart sent for build, "" if none.
func (s *Sent) SHA256(build string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sums[build]
}

// Record wraps h so that the body of every successful GET is hashed and
// kept under its build.
func (s *Sent) Record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hw := &hashingWriter{ResponseWriter: w, h: sha256.New(), status: http.StatusOK}
		h.ServeHTTP(hw, r)
		if r.Method != http.MethodGet || hw.status != http.StatusOK {
			return
		}
		req, err := ParseQuery(r.URL.RawQuery)
		if err != nil {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.sums == nil {
			s.sums = map[string]string{}
		}
		s.sums[req.Build] = hex.EncodeToString(hw.h.Sum(nil))
	})
}

type hashingWriter struct {
	http.ResponseWriter
	h      hash.Hash
	status int
}

func (w *hashingWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *hashingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.h.Write(p[:n])
	return n, err
}
