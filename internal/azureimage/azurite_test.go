package azureimage

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// Azurite's well-known development account (documented, not a secret).
const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// startAzurite runs Azurite's blob service on a free loopback port with a
// temporary workspace and returns its address (http://127.0.0.1:<port>).
// Without azurite-blob on PATH the test fails in CI and is skipped
// elsewhere (scripts/host/install-test-tools.sh installs it).
func startAzurite(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("azurite-blob")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("this test needs azurite-blob (npm install -g azurite): %v", err)
		}
		t.Skip("azurite-blob not on PATH (npm install -g azurite)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--location", dir, "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--loose")
	log, err := os.Create(filepath.Join(dir, "azurite.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		log.Close()
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "http://" + addr
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("azurite-blob exited at start-up:\n%s", out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("azurite-blob not listening on %s after 30s:\n%s", addr, out)
		}
	}
}

// countingProxy sits in front of Azurite and counts the body bytes of page
// writes; after can cancel an upload once a number of page writes are done.
type countingProxy struct {
	*httptest.Server
	pageBytes  atomic.Int64
	pageWrites atomic.Int64
	mu         sync.Mutex
	afterWrite func(n int64) // called after the n-th page write answered
	hold       time.Duration // each page write waits this long before going on
	inFlight   atomic.Int64
	maxFlight  atomic.Int64 // most page writes under way at once
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isPage := r.Method == http.MethodPut && r.URL.Query().Get("comp") == "page" && r.Header.Get("x-ms-page-write") == "update"
		if isPage {
			n := p.inFlight.Add(1)
			for m := p.maxFlight.Load(); n > m && !p.maxFlight.CompareAndSwap(m, n); m = p.maxFlight.Load() {
			}
			time.Sleep(p.hold)
		}
		rp.ServeHTTP(w, r)
		if isPage {
			p.inFlight.Add(-1)
			p.pageBytes.Add(r.ContentLength)
			n := p.pageWrites.Add(1)
			p.mu.Lock()
			f := p.afterWrite
			p.mu.Unlock()
			if f != nil {
				f(n)
			}
		}
	}))
	t.Cleanup(p.Close)
	return p
}

// devOptions signs blob requests with Azurite's account key.
func devOptions(t *testing.T) Options {
	t.Helper()
	key, err := azblob.NewSharedKeyCredential(devAccount, devKey)
	if err != nil {
		t.Fatal(err)
	}
	return Options{SharedKey: key, Credential: staticToken("test-token")}
}

// blobBytes downloads a blob.
func blobBytes(t *testing.T, endpoint, container, name string) ([]byte, map[string]string) {
	t.Helper()
	key, _ := azblob.NewSharedKeyCredential(devAccount, devKey)
	c, err := azblob.NewClientWithSharedKeyCredential(endpoint+"/"+devAccount, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	props, err := c.ServiceClient().NewContainerClient(container).NewBlobClient(name).GetProperties(context.Background(), nil)
	if err != nil {
		t.Fatalf("reading blob %s: %v", name, err)
	}
	resp, err := c.DownloadStream(context.Background(), container, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return buf, lowerKeys(props.Metadata)
}
