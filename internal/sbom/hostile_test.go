package sbom

import (
	"path/filepath"
	"strings"
	"testing"

	"gold-standard-images/internal/diskcheck/disktest"
	"gold-standard-images/internal/run/runtest"
)

// TestADiskThatRefersToAHostFileIsRefusedBeforeGuestfishOpensIt: a Packer
// output qcow2 whose backing file is a host file, and an OVA whose VMDK
// names one as its extent, are refused naming it; guestfish never runs.
func TestADiskThatRefersToAHostFileIsRefusedBeforeGuestfishOpensIt(t *testing.T) {
	dir := t.TempDir()
	qcow2 := filepath.Join(dir, "x_openstack.qcow2")
	backed := disktest.BackedQcow2(t, qcow2)
	ova := filepath.Join(dir, "x_aws.ova")
	extent := disktest.HostileOVA(t, ova, "x_aws")
	runtest.DyingTool(t, "guestfish", 0)
	for _, tc := range []struct {
		disk string
		want []string
	}{
		{qcow2, []string{qcow2, "backing file", backed}},
		{ova, []string{ova, "extent", extent}},
	} {
		t.Run(filepath.Ext(tc.disk), func(t *testing.T) {
			_, err := WriteForDisk(t.Context(), tc.disk, filepath.Join(t.TempDir(), FileName), Subject{}, Options{Getenv: runtest.TCG})
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
