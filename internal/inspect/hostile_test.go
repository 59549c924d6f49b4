package inspect

import (
	"os"
	"path/filepath"
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
	h := disktest.MakeHostiles(t, dir)
	data, err := os.ReadFile(h.Qcow2)
	if err != nil {
		t.Fatal(err)
	}
	gcp := filepath.Join(dir, "x_gcp.tar.gz")
	disktest.Tarball(t, gcp, disktest.Member{Name: "disk.raw", Data: data})
	for _, tc := range []struct {
		src  Source
		want []string
	}{
		{Source{h.Qcow2, "qcow2"}, []string{h.Qcow2, "backing file", h.Backing}},
		{Source{h.OVA, OVA}, []string{"x_aws-disk001.vmdk", "extent", h.Extent}},
		{Source{gcp, GCPTarball}, []string{"disk.raw", "want a raw image", "qcow2"}},
	} {
		t.Run(tc.src.Format, func(t *testing.T) {
			runtest.DyingTool(t, "guestfish", 0)
			_, err := Inspect(t.Context(), "openstack", tc.src, "", Options{Getenv: runtest.TCG, Rules: Table})
			disktest.Refused(t, err, tc.want...)
		})
	}
}
