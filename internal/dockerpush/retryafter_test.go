package dockerpush

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// TestARegistrysRetryAfterIsWaitedOut: a registry that answers the first
// look at a blob 429 with Retry-After 1 is asked about that blob again no
// sooner than that, however short the backoff.
func TestARegistrysRetryAfterIsWaitedOut(t *testing.T) {
	next := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	var mu sync.Mutex
	var faulted, retried time.Time
	var blob string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isBlob := r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/blobs/sha256:")
		mu.Lock()
		switch {
		case isBlob && faulted.IsZero():
			faulted, blob = time.Now(), r.URL.Path
			mu.Unlock()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case r.URL.Path == blob && retried.IsZero():
			retried = time.Now()
		}
		mu.Unlock()
		next.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	cfg, _ := testConfig(t)
	if _, err := Publish(context.Background(), cfg, Settings{Registry: hostOf(t, srv), Namespace: "gold"}, Options{Backoff: fastRetry}); err != nil {
		t.Fatal(err)
	}
	if faulted.IsZero() || retried.IsZero() {
		t.Fatalf("the fault (%v) or the retry (%v) never came", faulted, retried)
	}
	t.Logf("%s was asked again %s after a Retry-After of 1s", blob, retried.Sub(faulted).Round(time.Millisecond))
	if gap := retried.Sub(faulted); gap < time.Second {
		t.Errorf("%s was asked again %s after a Retry-After of 1s", blob, gap)
	}
}
