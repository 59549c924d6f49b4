package inspect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gold-standard-images/internal/diskcheck/disktest"
)

// TestAnArtifactThatRefersToAHostFileIsRefusedBeforeGuestfishOpensIt: the
// openstack qcow2 with a host file as its backing file, an OVA whose VMDK
// names one as its extent, and a GCP tarball whose disk.raw is such a
// qcow2 are each refused naming the file, before guestfish starts (a
// guestfish on PATH that would only fail is never run).
func TestAnArtifactThatRefersToAHostFileIsRefusedBeforeGuestfishOpensIt(t *testing.T) {
	dir := t.TempDir()
	qcow2 := filepath.Join(dir, "x_openstack.qcow2")
	backed := disktest.BackedQcow2(t, qcow2)
	data, err := os.ReadFile(qcow2)
	if err != nil {
		t.Fatal(err)
	}
	gcp := filepath.Join(dir, "x_gcp.tar.gz")
	disktest.Tarball(t, gcp, disktest.Member{Name: "disk.raw", Data: data})
	ova := filepath.Join(dir, "x_aws.ova")
	extent := disktest.HostileOVA(t, ova, "x_aws")
	for _, tc := range []struct {
		src  Source
		want []string
	}{
		{Source{qcow2, "qcow2"}, []string{qcow2, "backing file", backed}},
		{Source{ova, OVA}, []string{"x_aws-disk001.vmdk", "extent", extent}},
		{Source{gcp, GCPTarball}, []string{"disk.raw", "want a raw image", "qcow2"}},
	} {
		t.Run(tc.src.Format, func(t *testing.T) {
			t.Setenv("PATH", guestfishThatFails(t))
			_, err := Inspect(t.Context(), "openstack", tc.src, "", Options{Getenv: func(k string) string {
				if k == "QEMU_ACCELERATOR" {
					return "tcg"
				}
				return ""
			}, Rules: Table})
			t.Logf("error: %v", err)
			if err != nil && strings.Contains(err.Error(), "guestfish was run") {
				t.Error("guestfish was run on the disk")
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not name %q", w)
				}
			}
		})
	}
}

// guestfishThatFails is PATH with a guestfish first that says it was run.
func guestfishThatFails(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "guestfish"), []byte("#!/bin/sh\necho 'guestfish was run on the disk' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH")
}
