// Package redact keeps credentials out of everything we print or write
// beside the artifacts: the password of a URL (user:password@) and the
// values of its query parameters named like secrets (a signed download
// link's token), in one URL, in any text holding URLs (an error, a log
// line) or in a JSON document.
package redact

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
)

// Mark stands for a redacted value.
const Mark = "REDACTED"

// secretParam matches the names of query parameters whose values are
// credentials: users and passwords, tokens, signatures (AWS
// X-Amz-Signature and X-Amz-Credential, Azure SAS sig, Google
// X-Goog-Signature, the customer portal's _auth_), keys.
var secretParam = regexp.MustCompile(`(?i)(user|login|account|pass|pwd|secret|token|sig|auth|cred|key|session)`)

// URL is s with its user information (user:password, or a token alone as
// in https://<token>@host), and the value of every query parameter named
// like a secret, replaced by Mark (https://REDACTED@host/x?token=REDACTED).
// A string that is not a URL with a scheme comes back as it is.
func URL(s string) string {
	i := strings.Index(s, "://")
	if i <= 0 || !strings.ContainsAny(s[i:], "@?") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return roughly(s)
	}
	if u.User != nil {
		u.User = url.User(Mark)
	}
	if u.RawQuery != "" {
		u.RawQuery = query(u.RawQuery)
	}
	return u.String()
}

// roughly redacts a URL url.Parse refuses: everything between the scheme
// and the last @ of its authority, and the values of secret parameters.
func roughly(s string) string {
	i := strings.Index(s, "://") + 3
	end := len(s)
	if j := strings.IndexAny(s[i:], "/?#"); j >= 0 {
		end = i + j
	}
	if at := strings.LastIndex(s[i:end], "@"); at >= 0 {
		s = s[:i] + Mark + s[i+at:]
	}
	if q := strings.Index(s, "?"); q >= 0 {
		s = s[:q+1] + query(s[q+1:])
	}
	return s
}

// query redacts the values of the secret parameters of a raw query,
// keeping its order and every other byte.
func query(raw string) string {
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		if hasValue && secretParam.MatchString(name) {
			parts[i] = name + "=" + Mark
		}
	}
	return strings.Join(parts, "&")
}

// urlInText is a URL in free text: a scheme, ://, then anything up to a
// space, a quote or an angle bracket (Go quotes URLs in its errors).
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>` + "`" + `]+`)

// Text is s with every URL in it passed through URL.
func Text(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, URL)
}

// Error is err whose message is passed through Text; errors.Is and As
// still see err. A nil err is nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := Text(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redacted{msg: msg, err: err}
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// JSON is v as JSON with every string passed through URL, and the value of
// every key secret says names a secret (nil: none) replaced by Mark; an
// empty secret stays empty (it says only that none was set).
func JSON(v any, secret func(key string) bool) (json.RawMessage, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(data, &tree); err != nil {
		return nil, err
	}
	return json.Marshal(walk(tree, secret))
}

func walk(v any, secret func(string) bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, isString := val.(string); secret != nil && secret(k) && !(isString && s == "") {
				x[k] = Mark
				continue
			}
			x[k] = walk(val, secret)
		}
	case []any:
		for i := range x {
			x[i] = walk(x[i], secret)
		}
	case string:
		return URL(x)
	}
	return v
}
