// Package packertest gives tests the real Packer, found as the build
// targets find it (packer.Find).
package packertest

import (
	"bytes"
	"context"
	"os"
	"testing"

	"gold-standard-images/internal/packer"
)

// Real returns the real Packer for the repository at root: $PACKER, a
// supported packer on PATH, or the pinned build (built once if missing). It
// fails t when there is none or its version is not supported.
func Real(t testing.TB, root string) string {
	t.Helper()
	var log bytes.Buffer
	path, version, err := packer.Find(context.Background(), root, os.Getenv, &log)
	if err != nil {
		t.Fatalf("the real Packer is needed: %v\n%s", err, log.String())
	}
	if !packer.Supported(version) {
		t.Fatalf("Packer %s at %s is not a supported version (want %sx)", version, path, packer.SupportedSeries)
	}
	return path
}
