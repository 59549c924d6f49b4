package inspect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gold-standard-images/internal/diskcheck/disktest"
	"gold-standard-images/internal/run/runtest"
)

// TestAnArtifactThatRefersToAHostFileIsRefusedBeforeGuestfishOpensIt: the
// openstack qcow2 with a host file as its backing file, an OVA whose VMDK
// names one as its extent, and a GCP tarball whose disk.raw is such a
// qcow2 are each refused naming the file, before guestfish starts (a
// stand-in guestfish on PATH is never run).
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
			runtest.DyingTool(t, "guestfish", 0)
			_, err := Inspect(t.Context(), "openstack", tc.src, "", Options{Getenv: runtest.TCG, Rules: Table})
			t.Logf("error: %v", err)
			if err != nil && strings.Contains(err.Error(), runtest.Dying) {
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
