// Package shorterr says an SDK's error in one line: cloud SDKs print a
// stack of request, response and troubleshooting links over many lines,
// which a target's error must not show. The cause stays reachable for
// errors.Is and errors.As.
package shorterr

import "strings"

// Error is Msg, wrapping Err.
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// New says cause as msg.
func New(msg string, cause error) error { return &Error{Msg: msg, Err: cause} }

// FirstLine is the first non-empty line of s, trimmed.
func FirstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}
