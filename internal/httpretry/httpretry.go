// Package httpretry tries again an HTTP request a server turned away for
// now (429 Too Many Requests, a 5xx other than 501), waiting as long as
// its Retry-After says (go-retryablehttp's backoff reads it), else
// doubling from a first wait. A request whose body cannot be sent again (a
// streamed image) goes once; its 429 or 503 is held for the Retry-After
// before it is returned, so that the caller's own retry comes after it.
// POST, which may have done its work despite a 5xx, is tried again only
// after 429 or 503 (the server did not take it).
package httpretry

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"gold-standard-images/internal/redact"
)

// Options say how often and how long to wait; the zero value tries once
// and only honours Retry-After.
type Options struct {
	Retries int           // further tries of a request that can be sent again
	Wait    time.Duration // first wait without Retry-After; 0 is 1s, doubling
	MaxWait time.Duration // the longest wait without Retry-After; 0 is 30s
	// Say is told of each retry ("429 Too Many Requests, Retry-After 2;
	// trying again in 2s"); nil says nothing.
	Say func(format string, args ...any)
}

// Longest is the longest Retry-After honoured: a server asking for more
// is taken at this.
const Longest = 10 * time.Minute

// Transport is next (nil is http.DefaultTransport) with o's retries.
func Transport(next http.RoundTripper, o Options) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if o.Wait == 0 {
		o.Wait = time.Second
	}
	if o.MaxWait == 0 {
		o.MaxWait = 30 * time.Second
	}
	return transport{next: next, o: o}
}

type transport struct {
	next http.RoundTripper
	o    Options
}

// Delay is how long to wait before try attempt+1 (from 0) of a request
// answered status with header h: its Retry-After for a 429 or 503 (at most
// Longest), else first doubled attempt times, at most max.
func Delay(first, max time.Duration, attempt, status int, h http.Header) time.Duration {
	return min(retryablehttp.DefaultBackoff(first, max, attempt, &http.Response{StatusCode: status, Header: h}), Longest)
}

// Transient reports whether status is worth trying again for method.
func Transient(method string, status int) bool {
	if method == http.MethodPost {
		return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
	}
	return status == http.StatusTooManyRequests || status >= 500 && status != http.StatusNotImplemented
}

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	again := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err != nil || !Transient(req.Method, resp.StatusCode) {
			return resp, err
		}
		told := resp.Header.Get("Retry-After") != "" && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable)
		last := !again || attempt >= t.o.Retries
		if last && !told {
			return resp, nil
		}
		wait := Delay(t.o.Wait, t.o.MaxWait, attempt, resp.StatusCode, resp.Header)
		if !last {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if t.o.Say != nil {
				t.o.Say("%s %s: %s%s; trying again in %s", req.Method, redact.URL(req.URL.String()), resp.Status, retryAfter(resp), wait)
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			if last {
				return resp, nil
			}
			return nil, req.Context().Err()
		case <-timer.C:
		}
		if last {
			return resp, nil // held for its Retry-After: the caller's retry comes after it
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("sending %s %s again: %w", req.Method, redact.URL(req.URL.String()), err)
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
	}
}

func retryAfter(resp *http.Response) string {
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		return ", Retry-After " + ra
	}
	return ""
}
