package shorterr

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestAShortErrorSaysOneLineAndKeepsItsCause(t *testing.T) {
	cause := fmt.Errorf("GET https://x\n-----\nRESPONSE 403\n%w", context.Canceled)
	err := fmt.Errorf("reading x: %w", New("HTTP 403 AuthorizationFailed", cause))
	if err.Error() != "reading x: HTTP 403 AuthorizationFailed" || !errors.Is(err, context.Canceled) {
		t.Errorf("err %q, is Canceled %v", err, errors.Is(err, context.Canceled))
	}
}

func TestFirstLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "",
		"one":                       "one",
		"\n  first line \nsecond\n": "first line",
	} {
		if got := FirstLine(in); got != want {
			t.Errorf("FirstLine(%q) = %q, want %q", in, got, want)
		}
	}
}
