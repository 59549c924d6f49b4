package httpbound

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/uploadtest"
)

// stall is the bound of the tests that must give up: short, so that they
// are quick. slowStall is the bound the slow servers below must not trip:
// fifty times their pauses, for a loaded machine.
const (
	stall     = 200 * time.Millisecond
	slowStall = time.Second
	pause     = slowStall / 50
)

// stopsHalfway answers 1000 bytes, sends 500, then nothing until the request ends.
func stopsHalfway(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "1000")
	w.Write(bytes.Repeat([]byte("x"), 500))
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

// stopsReading takes 64 KiB of the request body, then nothing until the request ends.
func stopsReading(w http.ResponseWriter, r *http.Request) {
	io.CopyN(io.Discard, r.Body, 64<<10)
	<-r.Context().Done()
}

// tricklesAnswer sends 60 pieces of its answer a pause apart: more than
// slowStall in all.
func tricklesAnswer(w http.ResponseWriter, r *http.Request) {
	for range 60 {
		io.WriteString(w, "0123456789")
		w.(http.Flusher).Flush()
		time.Sleep(pause)
	}
}

// readsSlowly takes the request body 128 KiB a pause and answers its length
// modulo 1000 in bytes.
func readsSlowly(w http.ResponseWriter, r *http.Request) {
	var n int64
	for {
		m, err := io.CopyN(io.Discard, r.Body, 128<<10)
		n += m
		if err != nil {
			break
		}
		time.Sleep(pause)
	}
	io.WriteString(w, strings.Repeat("x", int(n%1000)))
}

// smallBuffers serves h with a 256 KiB receive buffer on every connection,
// so that a slow reader holds the sender back instead of the kernel taking
// megabytes at once (smaller ones leave TCP probing a closed window for
// seconds at times). Requests end when the test does, at the latest.
func smallBuffers(t *testing.T, h http.HandlerFunc) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.Listener = smallBufferListener{s.Listener}
	ctx, cancel := context.WithCancel(context.Background())
	s.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	s.Start()
	t.Cleanup(s.Close)
	t.Cleanup(cancel) // runs first: Close waits for the handlers
	return s
}

type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetReadBuffer(256 << 10)
	}
	return c, err
}

// smallSendBuffer is a transport whose connections send from a 256 KiB buffer.
func smallSendBuffer() *http.Transport {
	return &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetWriteBuffer(256 << 10)
		}
		return c, err
	}}
}

// zeros is an endless body of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// exchange sends a request with body (a GET without one) and reads the answer.
func exchange(ctx context.Context, c Doer, url string, body io.Reader, size int64) (int, error) {
	method := http.MethodGet
	if body != nil {
		method = http.MethodPut
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, err
	}
	req.ContentLength = size
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return len(got), err
}

func TestARequestThatStopsMovingIsGivenUpOn(t *testing.T) {
	tests := []struct {
		name   string
		server func(t *testing.T) *httptest.Server
		body   io.Reader
		size   int64
	}{
		{"a server that never answers", func(t *testing.T) *httptest.Server { return uploadtest.StalledServer(t) }, nil, 0},
		{"a server that stops in the middle of its answer", func(t *testing.T) *httptest.Server { return smallBuffers(t, stopsHalfway) }, nil, 0},
		{"a server that stops taking a large body", func(t *testing.T) *httptest.Server { return smallBuffers(t, stopsReading) }, io.LimitReader(zeros{}, 1<<30), 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.server(t)
			c := &http.Client{Transport: Transport(smallSendBuffer(), stall)}
			uploadtest.GivesUp(t, func() error {
				_, err := exchange(t.Context(), c, s.URL, tt.body, tt.size)
				if !Stalled(err) {
					t.Errorf("%v is not a stall", err)
				}
				return err
			})
		})
	}
}

func TestATransferThatKeepsMovingIsWaitedForPastTheBound(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		body    int64
		want    int
	}{
		{"an answer sent in pieces", tricklesAnswer, 0, 600},
		{"an 8 MiB body read slowly", readsSlowly, 8 << 20, (8 << 20) % 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := smallBuffers(t, tt.handler)
			for name, c := range map[string]Doer{
				"transport": &http.Client{Transport: Transport(smallSendBuffer(), slowStall)},
				"client":    Client(&http.Client{Transport: smallSendBuffer()}, slowStall),
			} {
				var body io.Reader
				if tt.body > 0 {
					body = io.LimitReader(zeros{}, tt.body)
				}
				start := time.Now()
				n, err := exchange(t.Context(), c, s.URL, body, tt.body)
				if err != nil || n != tt.want {
					t.Errorf("%s: got %d bytes, %v; want %d bytes", name, n, err, tt.want)
				}
				if took := time.Since(start); took < slowStall {
					t.Errorf("%s: took %s, less than the bound: the test proves nothing", name, took)
				}
			}
		})
	}
}

func TestAnErrorOtherThanAStallIsLeftAsItIs(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close() // nothing listens any more
	_, err := exchange(t.Context(), &http.Client{Transport: Transport(nil, stall)}, s.URL, nil, 0)
	if err == nil || Stalled(err) {
		t.Errorf("got %v, want a refused connection that is no stall", err)
	}
}
