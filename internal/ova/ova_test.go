package ova

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/ovf"

	"gold-standard-images/internal/golden"
	"gold-standard-images/internal/run"
)

func needQemuImg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("qemu-img is needed (apt-get install qemu-utils): %v", err)
		}
		t.Skip("qemu-img not installed")
	}
}

func qemuImg(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := run.Output(context.Background(), run.Cmd{Name: "qemu-img", Args: args, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// PackerVM writes what Packer's vmware-iso build leaves: a .vmx naming a
// monolithic sparse disk of mib MiB holding data, and a CD-ROM image that
// is no disk of the OVA. It returns the .vmx and the raw data.
func PackerVM(t *testing.T, dir, stem string, mib int) (vmx, raw string) {
	t.Helper()
	raw = filepath.Join(t.TempDir(), "disk.raw")
	data := make([]byte, 2<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	f, err := os.Create(raw)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data)
	f.Truncate(int64(mib) << 20)
	f.Close()
	qemuImg(t, "convert", "-f", "raw", "-O", "vmdk", raw, filepath.Join(dir, "disk.vmdk"))
	vmx = filepath.Join(dir, stem+".vmx")
	text := `.encoding = "UTF-8"
displayname = "` + stem + `"
guestos = "centos7-64"
numvcpus = "2"
memsize = "1024"
scsi0.present = "TRUE"
scsi0.virtualdev = "lsilogic"
scsi0:0.filename = "disk.vmdk"
scsi0:0.present = "TRUE"
ide1:0.devicetype = "cdrom-image"
ide1:0.filename = "/isos/CentOS-7.iso.vmdk"
ethernet0.virtualdev = "vmxnet3"
`
	if err := os.WriteFile(vmx, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return vmx, raw
}

func members(t *testing.T, path string) (names []string, data map[string][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data = map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, data
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		names = append(names, h.Name)
		data[h.Name] = b
	}
}

func TestFromVMXMakesAnOVAThatGovmomisParserAndQemuImgRead(t *testing.T) {
	needQemuImg(t)
	dir := t.TempDir()
	vmx, raw := PackerVM(t, dir, "CentOS-7.9.2009-1.0.0_vmware", 64)
	out := filepath.Join(t.TempDir(), "CentOS-7.9.2009-1.0.0_vmware.ova")
	if err := FromVMX(context.Background(), vmx, out, "CentOS-7.9.2009-1.0.0", Options{}); err != nil {
		t.Fatal(err)
	}
	names, data := members(t, out)
	want := "CentOS-7.9.2009-1.0.0.ovf CentOS-7.9.2009-1.0.0-disk1.vmdk CentOS-7.9.2009-1.0.0.mf"
	if strings.Join(names, " ") != want {
		t.Fatalf("members %v, want %s (descriptor first, manifest last)", names, want)
	}
	env, err := ovf.Unmarshal(bytes.NewReader(data[names[0]]))
	if err != nil {
		t.Fatalf("govmomi's OVF parser refuses the descriptor: %v", err)
	}
	if env.Disk == nil || len(env.Disk.Disks) != 1 || env.Disk.Disks[0].Capacity != fmt.Sprint(64<<20) {
		t.Errorf("disk section %+v, want one disk of %d bytes", env.Disk, 64<<20)
	}
	if env.VirtualSystem == nil || env.VirtualSystem.OperatingSystem == nil || *env.VirtualSystem.OperatingSystem.OSType != "centos7_64Guest" {
		t.Errorf("virtual system %+v: want guest centos7_64Guest", env.VirtualSystem)
	}
	if len(env.References) != 1 || env.References[0].Href != names[1] || env.References[0].Size != uint(len(data[names[1]])) {
		t.Errorf("references %+v, want the VMDK member with its size", env.References)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data[names[2]])), "\n") {
		var name, sum string
		if _, err := fmt.Sscanf(strings.Replace(line, ")= ", " ", 1), "SHA256(%s %s", &name, &sum); err != nil {
			t.Fatalf("manifest line %q: %v", line, err)
		}
		h := sha256.Sum256(data[name])
		if sum != hex.EncodeToString(h[:]) {
			t.Errorf("manifest: %s has sha256 %s, the member %s", name, sum, hex.EncodeToString(h[:]))
		}
	}
	if n := strings.Count(string(data[names[2]]), "SHA256("); n != 2 {
		t.Errorf("manifest has %d lines, want the descriptor's and the disk's", n)
	}

	disk := filepath.Join(t.TempDir(), "disk1.vmdk")
	os.WriteFile(disk, data[names[1]], 0o644)
	var info struct {
		Format   string `json:"format"`
		Specific struct {
			Data struct {
				CreateType string `json:"create-type"`
			} `json:"data"`
		} `json:"format-specific"`
	}
	if err := json.Unmarshal(qemuImg(t, "info", "--output=json", disk), &info); err != nil {
		t.Fatal(err)
	}
	if info.Format != "vmdk" || info.Specific.Data.CreateType != "streamOptimized" {
		t.Errorf("disk member: format %s, create type %s; want a streamOptimized vmdk", info.Format, info.Specific.Data.CreateType)
	}
	qemuImg(t, "compare", "-f", "raw", "-F", "vmdk", raw, disk) // fails unless the data is the same
}

func TestTheDescriptorSaysWhatTheVMXSays(t *testing.T) {
	vm := VM{Name: "CentOS-7.9.2009-1.0.0", GuestOS: "centos7_64Guest", CPUs: 2, MemoryMiB: 2048, Firmware: "efi", SCSI: "pvscsi", NIC: "VmxNet3",
		Disks: []Disk{{Capacity: 20 << 30}, {Capacity: 1 << 30}}}
	desc, err := Descriptor(vm, []file{{Name: "CentOS-7.9.2009-1.0.0-disk1.vmdk", Size: 123456}, {Name: "CentOS-7.9.2009-1.0.0-disk2.vmdk", Size: 789}})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, desc)
	if _, err := ovf.Unmarshal(bytes.NewReader(desc)); err != nil {
		t.Errorf("govmomi's OVF parser refuses it: %v", err)
	}
}

func TestAVMXWithoutADiskIsNamed(t *testing.T) {
	vmx := filepath.Join(t.TempDir(), "x.vmx")
	os.WriteFile(vmx, []byte(`ide1:0.deviceType = "cdrom-image"`+"\n"+`ide1:0.fileName = "a.iso"`+"\n"), 0o644)
	err := FromVMX(context.Background(), vmx, filepath.Join(t.TempDir(), "x.ova"), "x", Options{})
	if err == nil || !strings.Contains(err.Error(), "attaches no .vmdk disk") || !strings.Contains(err.Error(), vmx) {
		t.Errorf("error %v: want it to name the VMX and say it has no disk", err)
	}
}

func TestGuestID(t *testing.T) {
	for in, want := range map[string]string{"centos7-64": "centos7_64Guest", "rhel8-64": "rhel8_64Guest", "": "otherLinux64Guest"} {
		if got := GuestID(in); got != want {
			t.Errorf("GuestID(%q) = %q, want %q", in, got, want)
		}
	}
}
