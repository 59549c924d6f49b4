package httpretry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// faultyServer answers the first len(faults) requests with those statuses
// (Retry-After 1 on 429 and 503), then 200; it records when each came.
func faultyServer(t *testing.T, faults ...int) (*httptest.Server, func() []time.Time) {
	var mu sync.Mutex
	var seen []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		n := len(seen)
		seen = append(seen, time.Now())
		mu.Unlock()
		if n < len(faults) {
			if faults[n] == http.StatusTooManyRequests || faults[n] == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "1")
			}
			w.WriteHeader(faults[n])
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, func() []time.Time { mu.Lock(); defer mu.Unlock(); return append([]time.Time(nil), seen...) }
}

func TestATurnedAwayRequestIsTriedAgainAfterItsRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name      string
		method    string
		body      func() io.Reader // nil: none
		faults    []int
		wantCode  int
		wantTries int
	}{
		{"a GET after 429 and 503", http.MethodGet, nil, []int{429, 503}, 200, 3},
		{"a PUT of a small body after 502", http.MethodPut, func() io.Reader { return strings.NewReader("{}") }, []int{502}, 200, 2},
		{"a POST after 429", http.MethodPost, func() io.Reader { return strings.NewReader("{}") }, []int{429}, 200, 2},
		{"a POST after 500 is not sent twice", http.MethodPost, func() io.Reader { return strings.NewReader("{}") }, []int{500}, 500, 1},
		{"a streamed body goes once, its 503 held for the Retry-After", http.MethodPut, func() io.Reader { return io.MultiReader(strings.NewReader("data")) }, []int{503}, 503, 1},
		{"501 is not transient", http.MethodGet, nil, []int{501}, 501, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, seen := faultyServer(t, tc.faults...)
			var body io.Reader
			if tc.body != nil {
				body = tc.body()
			}
			req, err := http.NewRequest(tc.method, srv.URL, body)
			if err != nil {
				t.Fatal(err)
			}
			var said []string
			c := http.Client{Transport: Transport(nil, Options{Retries: 3, Wait: time.Millisecond, Say: func(f string, a ...any) { said = append(said, f) }})}
			start := time.Now()
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			times := seen()
			if resp.StatusCode != tc.wantCode || len(times) != tc.wantTries {
				t.Fatalf("status %d after %d tries, want %d after %d", resp.StatusCode, len(times), tc.wantCode, tc.wantTries)
			}
			for i := 1; i < len(times); i++ {
				if tc.faults[i-1] == 429 || tc.faults[i-1] == 503 {
					if gap := times[i].Sub(times[i-1]); gap < time.Second {
						t.Errorf("try %d came %s after a Retry-After of 1s", i+1, gap)
					}
				}
			}
			if tc.wantCode == 503 && time.Since(start) < time.Second {
				t.Errorf("the 503 came back after %s, not held for its Retry-After of 1s", time.Since(start))
			}
			if len(said) != len(times)-1 {
				t.Errorf("said %d retry lines for %d tries", len(said), len(times))
			}
		})
	}
}
