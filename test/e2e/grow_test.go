package e2e

import (
	"os"
	"testing"
	"time"

	"gold-standard-images/internal/kvm"
	"gold-standard-images/test/fixture"
	"gold-standard-images/test/guest"
)

// TestARootOnOnePlainPartitionGrowsToALargerDisk boots the fixture guest's
// disk, laid out as the openstack build lays out its disk (one plain root
// partition, no LVM, swap or /boot), on a larger disk with a NoCloud seed,
// as OpenStack boots an image on a larger flavor: cloud-init's growpart
// and resizefs must grow the root file system to fill the disk.
func TestARootOnOnePlainPartitionGrowsToALargerDisk(t *testing.T) {
	requireTools(t, guest.GrowTools...)
	ctx, cancel := testContext(t)
	defer cancel()
	accel, err := kvm.Choose(ctx, os.Getenv, "")
	if err != nil {
		t.Fatal(err)
	}
	image, _ := fixture.Image(ctx, t, accel)
	start := time.Now()
	guest.CheckRootGrows(ctx, t, "fixture", accel.Accelerator, image)
	t.Logf("fixture: grown in %s", time.Since(start).Round(time.Second))
}
