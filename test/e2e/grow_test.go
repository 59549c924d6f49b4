package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sshkeys"
	"gold-standard-images/test/fixture"
	"gold-standard-images/test/guest"
)

// grownDisk is the size of the disk the growth checks boot an image on:
// larger than any image they boot (the fixture's 2 GiB, the e2e build's 4).
const grownDisk = 6 << 30

// cloudUser is the default user Debian's cloud-init makes (the fixture
// stands in for EL, whose images name it after the distribution).
const cloudUser = "debian"

// TestARootOnOnePlainPartitionGrowsToALargerDisk boots the fixture guest's
// disk, laid out as the openstack build lays out its disk (one plain root
// partition, no LVM, swap or /boot), on a larger disk with a NoCloud seed,
// as OpenStack boots an image on a larger flavor: cloud-init's growpart
// and resizefs must grow the root file system to fill the disk.
func TestARootOnOnePlainPartitionGrowsToALargerDisk(t *testing.T) {
	requireTools(t, growTools...)
	ctx, cancel := testContext(t)
	defer cancel()
	accel, err := kvm.Choose(ctx, os.Getenv, "")
	if err != nil {
		t.Fatal(err)
	}
	image, _ := fixture.Image(ctx, t, accel)
	start := time.Now()
	checkRootGrows(ctx, t, "fixture", accel.Accelerator, image)
	t.Logf("fixture: grown in %s", time.Since(start).Round(time.Second))
}

// growTools are the programs of the growth check besides QEMU.
var growTools = []string{"qemu-system-x86_64", "qemu-img", "mkfs.vfat", "mcopy"}

// checkRootGrows boots the qcow2 image (not written: an overlay of it, of
// grownDisk bytes) with a NoCloud seed that gives cloudUser a key of its
// own, waits for cloud-init to finish and checks, logged in as cloudUser,
// that the root file system fills the larger disk. It returns the running
// guest and the private key cloudUser logs in with.
func checkRootGrows(ctx context.Context, t *testing.T, name, accel, image string) (*guest.Guest, string) {
	t.Helper()
	dir := t.TempDir()
	image = checked(t, image, "qcow2")
	before := virtualSize(ctx, t, image)
	if before >= grownDisk {
		t.Fatalf("%s is %d bytes, not smaller than the grown disk (%d)", image, before, int64(grownDisk))
	}
	overlay := filepath.Join(dir, "grown.qcow2")
	guest.MustRun(ctx, t, run.Cmd{Name: "qemu-img", Args: []string{"create", "-q", "-f", "qcow2", "-b", image, "-F", "qcow2", overlay, strconv.Itoa(grownDisk)}, Timeout: time.Minute})
	if _, err := sshkeys.Ensure(filepath.Join(dir, "keys"), "cloud"); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, "keys", "cloud.pub"))
	if err != nil {
		t.Fatal(err)
	}
	seed := guest.NoCloudSeed(ctx, t, dir,
		fmt.Sprintf("instance-id: gsi-grow-%s\nlocal-hostname: gsi-grow\n", name),
		fmt.Sprintf("#cloud-config\nusers: [default]\nssh_authorized_keys:\n  - %s\n", strings.TrimSpace(string(pub)))) // the fixture makes no user unless asked
	g := guest.Boot(t, name+"-grown", accel, []string{
		"-drive", "file=" + overlay + ",format=qcow2,if=virtio",
		"-drive", "file=" + seed + ",format=raw,if=virtio,readonly=on",
	}, 20*time.Minute)
	g.WaitSSH(t, 15*time.Minute)
	key := filepath.Join(dir, "keys", "cloud")
	// sshd answers before cloud-init has written the user's key.
	var out string
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var err error
		out, err = g.Try(cloudUser, key, "cloud-init status --wait >/dev/null; df -B1 --output=size / | tail -n 1; lsblk -bdno SIZE /dev/vda; findmnt -no SOURCE /")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s never logged in with the seed's key: %v; serial console:\n%s", name, cloudUser, err, guest.Tail(g.Serial, 40))
		}
		time.Sleep(5 * time.Second)
	}
	f := strings.Fields(out)
	if len(f) != 3 {
		t.Fatalf("%s: unexpected answer %q", name, out)
	}
	fsSize, _ := strconv.ParseInt(f[0], 10, 64)
	diskSize, _ := strconv.ParseInt(f[1], 10, 64)
	t.Logf("%s: image %d MiB; on a %d MiB disk the root file system (%s) is %d MiB", name, before>>20, diskSize>>20, f[2], fsSize>>20)
	// ext4 keeps about 2% for its journal and tables; a root that did not
	// grow stays at the image's size or below.
	if diskSize != grownDisk || fsSize < diskSize*95/100 {
		t.Errorf("%s: the root file system is %d bytes on a %d-byte disk: it did not grow to fill it; serial console:\n%s", name, fsSize, diskSize, guest.Tail(g.Serial, 40))
	}
	return g, key
}

// virtualSize is the virtual size of the qcow2 image in bytes.
func virtualSize(ctx context.Context, t *testing.T, image string) int64 {
	t.Helper()
	out, err := exec.CommandContext(ctx, "qemu-img", "info", "--output=json", image).Output()
	if err != nil {
		t.Fatalf("qemu-img info %s: %v", image, err)
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil || info.VirtualSize == 0 {
		t.Fatalf("qemu-img info %s printed %s: %v", image, out, err)
	}
	return info.VirtualSize
}
