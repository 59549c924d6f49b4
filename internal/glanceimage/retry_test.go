package glanceimage

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// faultProxy forwards to the real Glance, first answering each request
// kind in faults ("POST /v2/images", "GET /v2/images" for the listing,
// "GET /v2/images/" for one image) with its status once, Retry-After 1 on
// a 429 or 503; it records when each request came.
type faultProxy struct {
	mu     sync.Mutex
	faults map[string]int
	served map[string]time.Time // the fault's time, by kind
	after  map[string]time.Time // the next request of the kind
}

func (p *faultProxy) kind(r *http.Request) string {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/v2/images"):
		return "GET /v2/images"
	case r.Method == http.MethodGet && strings.Contains(path, "/v2/images/") && !strings.HasSuffix(path, "/file"):
		return "GET /v2/images/"
	}
	return r.Method + " " + path
}

func startFaultProxy(t *testing.T, glance string, faults map[string]int) (*faultProxy, string) {
	target, err := url.Parse(glance)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{faults: faults, served: map[string]time.Time{}, after: map[string]time.Time{}}
	next := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := p.kind(r)
		p.mu.Lock()
		status, fault := p.faults[k]
		if fault {
			delete(p.faults, k)
			p.served[k] = time.Now()
		} else if _, ok := p.served[k]; ok && p.after[k].IsZero() {
			p.after[k] = time.Now()
		}
		p.mu.Unlock()
		if fault {
			if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "1")
			}
			http.Error(w, "injected", status)
			return
		}
		next.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return p, srv.URL
}

// TestGlanceTurningRequestsAwayIsWaitedOutAsItsRetryAfterSays: the real
// Glance behind a proxy answering the image creation 429, the listing 503
// and the status poll 500 once each: Publish waits and tries again (at
// least the Retry-After later) and the image is made.
func TestGlanceTurningRequestsAwayIsWaitedOutAsItsRetryAfterSays(t *testing.T) {
	glance := startGlance(t)
	p, proxied := startFaultProxy(t, glance, map[string]int{"POST /v2/images": 429, "GET /v2/images": 503, "GET /v2/images/": 500})
	cfg := testConfig(t, "5.0.50", 1, 3) // a version of its own: the tests share one Glance
	var out bytes.Buffer
	res, err := Publish(context.Background(), cfg, Settings{Auth: Auth{Type: "none", Endpoint: proxied}}, Options{Out: &out, PollInterval: 100 * time.Millisecond})
	t.Logf("said:\n%s", out.String())
	if err != nil {
		t.Fatalf("Publish through the faults: %v", err)
	}
	if res.ID == "" || res.Skipped {
		t.Errorf("result %+v, want a new image", res)
	}
	for k, at := range p.served {
		next := p.after[k]
		if next.IsZero() {
			t.Errorf("%s: never tried again after the fault", k)
			continue
		}
		t.Logf("%s: tried again %s after the fault", k, next.Sub(at).Round(10*time.Millisecond))
		if k != "GET /v2/images/" && next.Sub(at) < time.Second {
			t.Errorf("%s: tried again %s after a Retry-After of 1s", k, next.Sub(at))
		}
	}
	if len(p.faults) != 0 {
		t.Errorf("faults never served: %v", p.faults)
	}
}
