package dockerpush

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// stalledListener accepts connections on the loopback interface and
// neither reads nor answers them: a plain-HTTP registry that hangs.
func stalledListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestAStalledPlainHTTPRegistryEndsWithinTheUploadsBoundSayingWhy: one
// bound for the whole upload, named in the error, and the error's first
// words about the registry that stopped answering, not HTTPS's failed
// handshake.
func TestAStalledPlainHTTPRegistryEndsWithinTheUploadsBoundSayingWhy(t *testing.T) {
	defer func(d time.Duration) { stallTimeout = d }(stallTimeout)
	stallTimeout = 2 * time.Second
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	cfg, _ := testConfig(t)
	for _, tc := range []struct {
		name  string
		bound time.Duration
		want  []string
	}{
		{"the bound ends it", 6 * time.Second, []string{"gave up after 6s, the bound of one upload"}},
		{"the retries end first", time.Hour, []string{"answered nothing for 2s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := Publish(context.Background(), cfg, Settings{Registry: stalledListener(t), Namespace: "gold"}, Options{Backoff: fastRetry, Timeout: tc.bound})
			took := time.Since(start)
			t.Logf("after %s: %v", took.Round(100*time.Millisecond), err)
			if err == nil {
				t.Fatal("pushed to a registry that never answers")
			}
			first, _, _ := strings.Cut(err.Error(), ": Get ")
			for _, w := range tc.want {
				if !strings.Contains(first, w) {
					t.Errorf("the error's first words %q do not say %q", first, w)
				}
			}
			if strings.Contains(first, "TLS") {
				t.Errorf("the error starts with HTTPS's failure: %q", first)
			}
			if took > tc.bound+30*time.Second {
				t.Errorf("took %s, past its bound of %s", took, tc.bound)
			}
		})
	}
}
