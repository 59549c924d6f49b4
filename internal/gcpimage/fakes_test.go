package gcpimage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"
)

const (
	testProject = "gold-123"
	testBucket  = "images"
)

// fakeGCS is fake-gcs-server behind a loopback proxy that counts the bytes
// of upload requests and can cut one chunk's connection half way through.
type fakeGCS struct {
	server    *fakestorage.Server
	proxy     *httptest.Server
	sentBytes atomic.Int64 // request body bytes of resumable upload chunks reaching the proxy
	uploads   atomic.Int64 // requests to /upload/ (any kind of upload)
	chunks    atomic.Int64 // upload chunk requests seen
	cutChunk  atomic.Int64 // cut the connection of this chunk (1-based) once; 0 never
	cuts      atomic.Int64
}

func newFakeGCS(t *testing.T) *fakeGCS {
	t.Helper()
	server, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Stop)
	server.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: testBucket})
	target, _ := url.Parse(server.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	f := &fakeGCS{server: server}
	f.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/upload/") {
			f.uploads.Add(1)
		}
		if r.URL.Query().Get("upload_id") != "" { // a chunk (POST or PUT by client version)
			n := f.chunks.Add(1)
			if n == f.cutChunk.Load() && f.cuts.Load() == 0 {
				f.cuts.Add(1)
				half := make([]byte, r.ContentLength/2)
				got, _ := io.ReadFull(r.Body, half)
				f.sentBytes.Add(int64(got))
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close() // the server never sees this chunk
				}
				return
			}
			f.sentBytes.Add(r.ContentLength)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(f.proxy.Close)
	return f
}

// client is a storage client talking to the proxy.
func (f *fakeGCS) client(t *testing.T) *storage.Client {
	t.Helper()
	c, err := storage.NewClient(context.Background(), option.WithEndpoint(f.proxy.URL+"/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// fakeCompute speaks the Compute API calls Insert makes: images.get,
// images.insert (deduplicated by requestId) and globalOperations.get.
type fakeCompute struct {
	*httptest.Server
	mu       sync.Mutex
	images   map[string]map[string]any
	ops      map[string]int    // operation -> polls left
	opImage  map[string]string // operation -> image name
	requests map[string]string // requestId -> operation
	inserts  int               // distinct inserts
	inserted map[string]any    // the last insert's body
	faults   map[string][]int  // "METHOD kind" -> statuses answered first
	// retryAfter, when set, is the Retry-After of the 429 and 503 faults.
	retryAfter string
	seen       map[string][]time.Time // "METHOD kind" -> when each request came
	polls      int
	opError    string // operations end DONE with this error code
	forever    bool
}

func newFakeCompute(t *testing.T) *fakeCompute {
	t.Helper()
	f := &fakeCompute{images: map[string]map[string]any{}, ops: map[string]int{}, opImage: map[string]string{},
		requests: map[string]string{}, faults: map[string][]int{}, polls: 2}
	f.Server = httptest.NewServer(f)
	t.Cleanup(f.Close)
	return f
}

func apiError(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"errors":[{"domain":"global","reason":%q,"message":%q}]}}`, code, msg, reason, msg)
}

func (f *fakeCompute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer test-token" {
		apiError(w, http.StatusUnauthorized, "authError", "Request had invalid authentication credentials.")
		return
	}
	prefix := "/compute/v1/projects/" + testProject + "/global/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		apiError(w, http.StatusNotFound, "notFound", "no such path "+r.URL.Path)
		return
	}
	kind, name, _ := strings.Cut(rest, "/")
	if f.seen == nil {
		f.seen = map[string][]time.Time{}
	}
	f.seen[r.Method+" "+kind] = append(f.seen[r.Method+" "+kind], time.Now())
	if q := f.faults[r.Method+" "+kind]; len(q) > 0 {
		if f.retryAfter != "" && (q[0] == http.StatusTooManyRequests || q[0] == http.StatusServiceUnavailable) {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		f.faults[r.Method+" "+kind] = q[1:]
		if q[0] == http.StatusForbidden {
			apiError(w, q[0], "forbidden", "Required 'compute.images.create' permission for 'projects/"+testProject+"/global/images/x'\nmore detail")
		} else {
			apiError(w, q[0], "rateLimitExceeded", "slow down")
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case kind == "images" && r.Method == http.MethodGet:
		img, ok := f.images[name]
		if !ok {
			apiError(w, http.StatusNotFound, "notFound", "The resource 'projects/"+testProject+"/global/images/"+name+"' was not found")
			return
		}
		json.NewEncoder(w).Encode(img)
	case kind == "images" && r.Method == http.MethodPost && name == "":
		req := r.URL.Query().Get("requestId")
		op, seen := f.requests[req]
		if !seen {
			var body map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			f.inserted = body
			f.inserts++
			op = fmt.Sprintf("operation-%d", f.inserts)
			f.requests[req] = op
			f.ops[op] = f.polls
			f.opImage[op] = body["name"].(string)
			body["status"] = "PENDING"
			f.images[body["name"].(string)] = body
		}
		fmt.Fprintf(w, `{"name":%q,"status":"RUNNING","operationType":"insert"}`, op)
	case kind == "operations" && r.Method == http.MethodGet:
		left, ok := f.ops[name]
		switch {
		case !ok:
			apiError(w, http.StatusNotFound, "notFound", "no operation "+name)
		case f.forever || left > 0:
			f.ops[name] = left - 1
			fmt.Fprintf(w, `{"name":%q,"status":"RUNNING"}`, name)
		case f.opError != "":
			f.images[f.opImage[name]]["status"] = "FAILED"
			fmt.Fprintf(w, `{"name":%q,"status":"DONE","error":{"errors":[{"code":%q,"message":"The image file is not a gzip tar of disk.raw\nsecond line"}]}}`, name, f.opError)
		default:
			f.images[f.opImage[name]]["status"] = "READY"
			fmt.Fprintf(w, `{"name":%q,"status":"DONE"}`, name)
		}
	default:
		apiError(w, http.StatusBadRequest, "badRequest", r.Method+" "+r.URL.Path)
	}
}
