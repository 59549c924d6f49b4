// Package uploadtest holds what the tests of the upload packages
// (awsimport, azureimage, dockerpush, gcpimage) share: a configuration
// rooted in a temporary folder and the artifact file an upload reads.
package uploadtest

import (
	"os"
	"path/filepath"
	"testing"

	"gold-standard-images/internal/config"
)

// VMName is the OS definition of the configurations Config makes.
const VMName = "CentOS-7.9.2009"

// Config is a configuration of VMName with the default site settings,
// rooted in a temporary folder.
func Config(t testing.TB) *config.Config {
	t.Helper()
	return &config.Config{Root: t.TempDir(), Site: config.Defaults(), OS: config.OS{VMName: VMName}}
}

// WriteArtifact writes data to rel (an upload's Source) below cfg.Root,
// making its folders, and returns its path.
func WriteArtifact(t testing.TB, cfg *config.Config, rel string, data []byte) string {
	t.Helper()
	path := filepath.Join(cfg.Root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
