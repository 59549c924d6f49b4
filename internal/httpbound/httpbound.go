// Package httpbound gives up on an HTTP request that stops making
// progress: no byte of its body sent, no answer, or no byte of the answer
// read for a while. The AWS SDK and go-containerregistry bound none of
// these (only dialing and the TLS handshake), so a connection that stalls
// would hang an upload for good. A slow transfer that keeps moving is never
// cut, however long a large body takes; a total limit could not tell the two
// apart.
package httpbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Doer is an HTTP client: *http.Client, or the AWS SDK's aws.HTTPClient.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Transport is next (nil is http.DefaultTransport) giving up on a request
// that makes no progress for stall.
func Transport(next http.RoundTripper, stall time.Duration) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return bound{send: next.RoundTrip, stall: stall}
}

// Client is next giving up on a request that makes no progress for stall;
// next keeps its own redirect rules.
func Client(next Doer, stall time.Duration) Doer {
	if b, ok := next.(bound); ok && b.stall == stall {
		return b
	}
	return bound{send: next.Do, stall: stall}
}

// Stalled reports whether err comes from a request given up for lack of
// progress. Such an error is also a context.DeadlineExceeded.
func Stalled(err error) bool {
	var s *stallError
	return errors.As(err, &s)
}

type stallError struct{ stall time.Duration }

func (e *stallError) Error() string {
	return fmt.Sprintf("giving up on the request: nothing moved for %s: %v", e.stall, context.DeadlineExceeded)
}
func (e *stallError) Unwrap() error   { return context.DeadlineExceeded }
func (e *stallError) Timeout() bool   { return true }
func (e *stallError) Temporary() bool { return true }

type bound struct {
	send  func(*http.Request) (*http.Response, error)
	stall time.Duration
}

func (b bound) RoundTrip(r *http.Request) (*http.Response, error) { return b.do(r) }
func (b bound) Do(r *http.Request) (*http.Response, error)        { return b.do(r) }

// do sends r under a watchdog: the time runs while the request is sent and
// answered (each byte of body taken resets it) and while a read of the
// answer's body waits; it stops while the caller does other things.
func (b bound) do(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(r.Context())
	w := &watchdog{stall: b.stall, cancel: cancel, sending: true}
	w.timer = time.AfterFunc(b.stall, w.fire)
	r = r.WithContext(ctx)
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &sentBody{ReadCloser: r.Body, w: w}
	}
	if get := r.GetBody; get != nil {
		r.GetBody = func() (io.ReadCloser, error) {
			body, err := get()
			if err != nil || body == http.NoBody {
				return body, err
			}
			return &sentBody{ReadCloser: body, w: w}, nil
		}
	}
	resp, err := b.send(r)
	w.answered()
	if err != nil {
		cancel(nil)
		if w.fired() {
			return nil, w.err()
		}
		return nil, err
	}
	resp.Body = &answerBody{ReadCloser: resp.Body, w: w}
	return resp, nil
}

type watchdog struct {
	stall   time.Duration
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	mu      sync.Mutex
	sending bool // the request is being sent or waits for its answer
	gone    bool // the watchdog gave up
}

func (w *watchdog) fire() {
	w.mu.Lock()
	w.gone = true
	w.mu.Unlock()
	w.cancel(w.err())
}

func (w *watchdog) err() error { return &stallError{stall: w.stall} }

func (w *watchdog) fired() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gone
}

// sent restarts the time after a byte of the request body was taken.
func (w *watchdog) sent() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sending {
		w.timer.Reset(w.stall)
	}
}

// answered stops the time once the answer's header came (or the request
// failed); a body still being taken no longer restarts it.
func (w *watchdog) answered() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sending = false
	w.timer.Stop()
}

type sentBody struct {
	io.ReadCloser
	w *watchdog
}

func (b *sentBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.w.sent()
	return n, err
}

type answerBody struct {
	io.ReadCloser
	w *watchdog
}

func (b *answerBody) Read(p []byte) (int, error) {
	b.w.timer.Reset(b.w.stall)
	n, err := b.ReadCloser.Read(p)
	b.w.timer.Stop()
	if err != nil && err != io.EOF && b.w.fired() {
		err = b.w.err()
	}
	return n, err
}

// Close ends the request's context as http.Client's own timeout does.
func (b *answerBody) Close() error {
	b.w.timer.Stop()
	err := b.ReadCloser.Close()
	b.w.cancel(nil)
	return err
}
