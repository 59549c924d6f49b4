package guest

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

	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sshkeys"
)

// GrownDisk is the size of the disk the growth checks boot an image on,
// unless the image is larger: then it is 2 GiB more than the image.
const GrownDisk = 6 << 30

// CloudUser is the default user Debian's cloud-init makes (the fixture
// stands in for EL, whose images name it after the distribution).
const CloudUser = "debian"

// GrowTools are the programs of the growth check besides QEMU.
var GrowTools = []string{"qemu-system-x86_64", "qemu-img", "mkfs.vfat", "mcopy"}

// CheckRootGrows boots the qcow2 image (not written: an overlay of it, of
// GrownDisk bytes) with a NoCloud seed that gives CloudUser a key of its
// own, waits for cloud-init to finish and checks, logged in as CloudUser,
// that the root file system fills the larger disk. firmware are QEMU's
// arguments for it (none: SeaBIOS). It returns the running guest and the
// private key CloudUser logs in with.
func CheckRootGrows(ctx context.Context, t *testing.T, name, accel, image string, firmware ...string) (*VM, string) {
	t.Helper()
	dir := t.TempDir()
	image = Checked(t, image, "qcow2")
	before := VirtualSize(ctx, t, image)
	grown := max(int64(GrownDisk), before+2<<30) // larger than any image
	overlay := filepath.Join(dir, "grown.qcow2")
	MustRun(ctx, t, run.Cmd{Name: "qemu-img", Args: []string{"create", "-q", "-f", "qcow2", "-b", image, "-F", "qcow2", overlay, strconv.FormatInt(grown, 10)}, Timeout: time.Minute})
	if _, err := sshkeys.Ensure(filepath.Join(dir, "keys"), "cloud"); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, "keys", "cloud.pub"))
	if err != nil {
		t.Fatal(err)
	}
	seed := NoCloudSeed(ctx, t, dir, name, strings.TrimSpace(string(pub)))
	g := Boot(t, name+"-grown", accel, append(firmware,
		"-drive", "file="+overlay+",format=qcow2,if=virtio",
		"-drive", "file="+seed+",format=raw,if=virtio,readonly=on",
	), 20*time.Minute)
	g.WaitSSH(t, 15*time.Minute)
	key := filepath.Join(dir, "keys", "cloud")
	// sshd answers before cloud-init has written the user's key.
	var out string
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var err error
		out, err = g.Try(CloudUser, key, "cloud-init status --wait >/dev/null; df -B1 --output=size / | tail -n 1; lsblk -bdno SIZE /dev/vda; findmnt -no SOURCE /")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s never logged in with the seed's key: %v; serial console:\n%s", name, CloudUser, err, Tail(g.Serial, 40))
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
	if diskSize != grown || fsSize < diskSize*95/100 {
		t.Errorf("%s: the root file system is %d bytes on a %d-byte disk: it did not grow to fill it; serial console:\n%s", name, fsSize, diskSize, Tail(g.Serial, 40))
	}
	return g, key
}

// NoCloudSeed writes a NoCloud seed (a vfat image labelled cidata, made
// with mkfs.vfat -C and mcopy: no loop mount) giving CloudUser the public
// key pub, and returns its path.
func NoCloudSeed(ctx context.Context, t *testing.T, dir, name, pub string) string {
	t.Helper()
	files := map[string]string{
		"meta-data": fmt.Sprintf("instance-id: gsi-grow-%s\nlocal-hostname: gsi-grow\n", name),
		"user-data": fmt.Sprintf("#cloud-config\nusers: [default]\nssh_authorized_keys:\n  - %s\n", pub), // the fixture makes no user unless asked
	}
	for n, body := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	seed := filepath.Join(dir, "seed.img")
	MustRun(ctx, t, run.Cmd{Name: "mkfs.vfat", Args: []string{"-C", "-n", "CIDATA", seed, "2048"}, Timeout: time.Minute})
	MustRun(ctx, t, run.Cmd{Name: "mcopy", Args: []string{"-i", seed, filepath.Join(dir, "meta-data"), filepath.Join(dir, "user-data"), "::"}, Timeout: time.Minute})
	return seed
}

// VirtualSize is the virtual size of the qcow2 image in bytes.
func VirtualSize(ctx context.Context, t *testing.T, image string) int64 {
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

func MustRun(ctx context.Context, t *testing.T, c run.Cmd) {
	t.Helper()
	if err := run.Run(ctx, c); err != nil {
		t.Fatal(err)
	}
}
