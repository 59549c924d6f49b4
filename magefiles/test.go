//go:build mage

package main

import (
	"context"
	"os"

	"gold-standard-images/internal/devcheck"
)

// Test installs the tools the tests need (Debian packages, Go modules) and runs gofmt, go vet and every test.
//
// Environment: TEST_RUN restricts the tests (go test -run), TEST_PKGS the
// packages (default ./...); PACKER names the Packer the template tests use
// (else a 1.9.x packer on PATH, else v1.9.4 built into PACKER_CACHE).
func Test(ctx context.Context) error {
	return devcheck.Run(ctx, repoRoot(), os.Getenv)
}
