package kickstart

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Request is a parsed kickstart request.
type Request struct {
	Build string // "virtual/<name>" or "metal/<host>"
	OS    string // vm_name
}

var buildRE = regexp.MustCompile(`^(virtual|metal)/[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ParseQuery checks the raw query of a kickstart request: exactly one build
// and one os, nothing else, and names without path tricks ("..", absolute
// paths, NUL, encoded or doubly encoded characters, spaces).
func ParseQuery(rawQuery string) (Request, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Request{}, fmt.Errorf("malformed query: %w", err)
	}
	for k := range q {
		if k != "build" && k != "os" {
			return Request{}, fmt.Errorf("unknown parameter %s: want only build and os", quoteCapped(k))
		}
	}
	var r Request
	for _, p := range []struct {
		name string
		dst  *string
		re   *regexp.Regexp
		want string
	}{
		{"build", &r.Build, buildRE, "virtual/<name> or metal/<host>"},
		{"os", &r.OS, nameRE, "an OS definition's vm_name, e.g. CentOS-7.9.2009"},
	} {
		vs := q[p.name]
		switch {
		case len(vs) == 0:
			return Request{}, fmt.Errorf("missing parameter %q: want %s", p.name, p.want)
		case len(vs) > 1:
			return Request{}, fmt.Errorf("parameter %q given %d times", p.name, len(vs))
		}
		v := vs[0]
		if !p.re.MatchString(v) || strings.Contains(v, "..") {
			return Request{}, fmt.Errorf("parameter %s=%s: want %s", p.name, quoteCapped(v), p.want)
		}
		*p.dst = v
	}
	if strings.HasSuffix(r.Build, "/defaults") {
		return Request{}, fmt.Errorf("parameter build=%q: defaults are layers, not builds", r.Build)
	}
	return r, nil
}

// Handler serves GET /ks and /ks.php (the original PHP server's path, so
// existing PXE boot lines keep working). It answers 404 for an unknown
// build or metal host (never a fallback to defaults), 400 for malformed
// parameters or an unknown OS, 500 for an OS whose definition does not
// load (naming its problem), and renders only from what Load read: it
// never serves files from disk.
func (k *Kickstarts) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		if (r.URL.Path != "/ks" && r.URL.Path != "/ks.php") || r.URL.RawPath != "" {
			http.Error(w, "not found: kickstarts are at /ks?build=<virtual|metal>/<name>&os=<vm_name>", http.StatusNotFound)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
			return
		}
		req, err := ParseQuery(r.URL.RawQuery)
		if err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err, ok := k.broken[req.OS]; ok {
			http.Error(w, fmt.Sprintf("server error: the OS definition %q does not load: %v", req.OS, err), http.StatusInternalServerError)
			return
		}
		if _, ok := k.targets[req.OS]; !ok {
			http.Error(w, fmt.Sprintf("bad request: unknown OS %q; known: %s", req.OS, strings.Join(k.OSNames(), ", ")), http.StatusBadRequest)
			return
		}
		if _, ok := k.builds[req.Build]; !ok {
			msg := fmt.Sprintf("not found: no build definition %q", req.Build)
			if strings.HasPrefix(req.Build, "metal/") {
				msg = fmt.Sprintf("not found: no metal host %q (add %s/%s); refusing to fall back to defaults, which could wipe the wrong disks", req.Build, BuildsDir, req.Build)
			}
			http.Error(w, msg, http.StatusNotFound)
			return
		}
		var buf bytes.Buffer
		base := baseURL(r)
		if r.URL.Path == "/ks.php" { // the boot line names the path asked, as the original's did
			base += "/ks.php"
		}
		if err := k.Render(&buf, req.Build, req.OS, base); err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, ErrUnknownBuild) || errors.Is(err, ErrUnknownOS) {
				status = http.StatusNotFound
			}
			http.Error(w, "rendering failed", status)
			return
		}
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(buf.Bytes())
		}
	})
}

// echoLimit is how much of a bad value answers and log lines quote.
const echoLimit = 100

// quoteCapped quotes s as %q does, but at most echoLimit bytes of it: a
// longer value is cut at a character boundary and marked with "..." and its
// length, so a 100 kB parameter gives a short answer and log line.
func quoteCapped(s string) string {
	if len(s) <= echoLimit {
		return strconv.Quote(s)
	}
	cut := echoLimit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:cut], len(s))
}

var (
	hostRE   = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)
	prefixRE = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)
)

// baseURL is the server as the client named it, for the metal boot line,
// as the original's PHP server wrote it: https when the request came over
// TLS or a proxy says so (X-Forwarded-Proto), the Host header, and the
// path a proxy serves the server under (X-Forwarded-Prefix). A Host or
// prefix that is not plain is not echoed.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https") {
		scheme = "https"
	}
	host := "<kickstart-server>"
	if hostRE.MatchString(r.Host) {
		host = r.Host
	}
	prefix := strings.TrimRight(strings.TrimSpace(r.Header.Get("X-Forwarded-Prefix")), "/")
	if !prefixRE.MatchString(prefix) || strings.Contains(prefix, "/..") {
		prefix = ""
	}
	return scheme + "://" + host + prefix
}
