package sbom

import (
	"path/filepath"
	"testing"

	"gold-standard-images/internal/diskcheck/disktest"
	"gold-standard-images/internal/run/runtest"
)

// TestADiskThatRefersToAHostFileIsRefusedBeforeGuestfishOpensIt: a Packer
// output qcow2 whose backing file is a host file, and an OVA whose VMDK
// names one as its extent, are refused naming it; guestfish never runs.
func TestADiskThatRefersToAHostFileIsRefusedBeforeGuestfishOpensIt(t *testing.T) {
	h := disktest.MakeHostiles(t, t.TempDir())
	runtest.DyingTool(t, "guestfish", 0)
	for _, tc := range []struct {
		disk string
		want []string
	}{
		{h.Qcow2, []string{h.Qcow2, "backing file", h.Backing}},
		{h.OVA, []string{h.OVA, "extent", h.Extent}},
	} {
		t.Run(filepath.Ext(tc.disk), func(t *testing.T) {
			_, err := WriteForDisk(t.Context(), tc.disk, filepath.Join(t.TempDir(), FileName), Subject{}, Options{Getenv: runtest.TCG})
			disktest.Refused(t, err, tc.want...)
		})
	}
}
