// Package ova makes an OVA from a VMware VM (its .vmx and disks) without
// VMware's ovftool: each disk becomes a streamOptimized VMDK (qemu-img), an
// OVF 1.0 descriptor describes the machine as the .vmx does, and both go in
// a tar with the descriptor first and a manifest (.mf, SHA256 lines) last,
// as vSphere, `govc import.ova` and ovftool expect.
package ova

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/ctxio"
	"gold-standard-images/internal/diskcheck"
	"gold-standard-images/internal/run"
)

// VM is what the descriptor says about the machine.
type VM struct {
	Name      string
	GuestOS   string // vSphere's guest id, e.g. centos7_64Guest
	CPUs      int
	MemoryMiB int
	Firmware  string // bios or efi
	SCSI      string // controller: lsilogic, lsilogicsas, pvscsi or buslogic
	NIC       string // adapter: VmxNet3, E1000 or E1000e
	Disks     []Disk
}

// Disk is one streamOptimized VMDK and the size the guest sees.
type Disk struct {
	Path     string
	Capacity int64 // bytes
}

// Options tune FromVMX; the zero value is fine.
type Options struct {
	Output  io.Writer     // qemu-img's output (a log); nil discards it
	Log     string        // where that output is kept, named by timeout errors
	Timeout time.Duration // bounds each qemu-img run; 0 is 1h
}

var vmxLine = regexp.MustCompile(`^\s*([A-Za-z0-9_.:]+)\s*=\s*"(.*)"\s*$`)

// ReadVMX reads the key = "value" lines of a .vmx file (keys lower case).
func ReadVMX(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the VMX %q: %w", path, err)
	}
	defer f.Close()
	keys := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := vmxLine.FindStringSubmatch(sc.Text()); m != nil {
			keys[strings.ToLower(m[1])] = m[2]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the VMX %q: %w", path, err)
	}
	return keys, nil
}

// VMXDisks reads the VMX at vmx and returns the VMDKs it attaches (CD-ROM
// images left out), in the order of their keys, as paths beside the VMX
// when relative.
func VMXDisks(vmx string) ([]string, error) {
	keys, err := ReadVMX(vmx)
	if err != nil {
		return nil, err
	}
	return vmxDisks(vmx, keys), nil
}

var diskKey = regexp.MustCompile(`^((?:scsi|sata|nvme|ide)\d+:\d+)\.filename$`)

// vmxDisks are the VMDKs the VMX attaches (CD-ROM images left out), in
// the order of their keys, as paths beside the VMX when relative.
func vmxDisks(vmx string, keys map[string]string) []string {
	var names []string
	for k, v := range keys {
		m := diskKey.FindStringSubmatch(k)
		if m == nil || !strings.HasSuffix(strings.ToLower(v), ".vmdk") || strings.Contains(keys[m[1]+".devicetype"], "cdrom") || strings.EqualFold(keys[m[1]+".present"], "false") {
			continue
		}
		names = append(names, k+"\x00"+v)
	}
	slices.Sort(names)
	var disks []string
	for _, n := range names {
		_, v, _ := strings.Cut(n, "\x00")
		if !filepath.IsAbs(v) {
			v = filepath.Join(filepath.Dir(vmx), v)
		}
		disks = append(disks, v)
	}
	return disks
}

// GuestID is vSphere's guest id for a VMX guestOS: centos7-64 is
// centos7_64Guest.
func GuestID(vmxGuestOS string) string {
	if vmxGuestOS == "" {
		return "otherLinux64Guest"
	}
	return strings.ReplaceAll(vmxGuestOS, "-", "_") + "Guest"
}

// nicTypes maps the VMX's ethernet virtualDev to OVF's ResourceSubType.
var nicTypes = map[string]string{"vmxnet3": "VmxNet3", "e1000": "E1000", "e1000e": "E1000e", "vmxnet": "VmxNet", "vmxnet2": "VmxNet2"}

// FromVMX writes to out the OVA of the VM whose .vmx is vmx, named name.
func FromVMX(ctx context.Context, vmx, out, name string, o Options) error {
	keys, err := ReadVMX(vmx)
	if err != nil {
		return err
	}
	vm := VM{Name: name, GuestOS: GuestID(keys["guestos"]), CPUs: atoi(keys["numvcpus"], 1), MemoryMiB: atoi(keys["memsize"], 1024),
		Firmware: keys["firmware"], SCSI: keys["scsi0.virtualdev"], NIC: nicTypes[strings.ToLower(keys["ethernet0.virtualdev"])]}
	if vm.SCSI == "" {
		vm.SCSI = "lsilogic"
	}
	if vm.NIC == "" {
		vm.NIC = "VmxNet3"
	}
	sources := vmxDisks(vmx, keys)
	if len(sources) == 0 {
		return fmt.Errorf("making an OVA of %q: the VMX attaches no .vmdk disk", vmx)
	}
	work, err := os.MkdirTemp(filepath.Dir(out), ".ova-")
	if err != nil {
		return fmt.Errorf("making an OVA of %q: %w", vmx, err)
	}
	defer os.RemoveAll(work)
	if o.Timeout == 0 {
		o.Timeout = time.Hour
	}
	for i, src := range sources {
		size, err := virtualSize(ctx, src, o)
		if err != nil {
			return err
		}
		dst := filepath.Join(work, fmt.Sprintf("%s-disk%d.vmdk", name, i+1))
		err = run.Run(ctx, run.Cmd{Name: "qemu-img", Args: []string{"convert", "-f", "vmdk", "-O", "vmdk", "-o", "subformat=streamOptimized", src, dst},
			Output: o.Output, Timeout: o.Timeout, Log: o.Log, Hint: fmt.Sprintf("a full or stalled disk (df -h %s)", filepath.Dir(out))})
		if err != nil {
			return fmt.Errorf("making a streamOptimized VMDK of %q: %w", src, err)
		}
		vm.Disks = append(vm.Disks, Disk{Path: dst, Capacity: size})
	}
	return Write(ctx, out, vm)
}

func atoi(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n
	}
	return def
}

// virtualSize is the disk size the guest sees, once diskcheck has found
// the VMDK standing alone (no extent or parent outside its folder).
func virtualSize(ctx context.Context, path string, o Options) (int64, error) {
	d, err := diskcheck.Check(ctx, path, "vmdk", diskcheck.Options{Output: o.Output, Log: o.Log})
	return d.VirtualSize, err
}

// file is a member of the OVA: its name in the tar and where it comes from.
type file struct {
	Name, Path string
	Size       int64
}

// Write puts vm's descriptor, disks and manifest into the OVA out (written
// under a temporary name, renamed when whole).
func Write(ctx context.Context, out string, vm VM) error {
	var disks []file
	for i, d := range vm.Disks {
		info, err := os.Stat(d.Path)
		if err != nil {
			return fmt.Errorf("making the OVA %q: %w", out, err)
		}
		disks = append(disks, file{Name: fmt.Sprintf("%s-disk%d.vmdk", vm.Name, i+1), Path: d.Path, Size: info.Size()})
	}
	desc, err := Descriptor(vm, disks)
	if err != nil {
		return err
	}
	f, err := atomicfile.Create(out, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	tw := tar.NewWriter(f)
	var manifest bytes.Buffer
	add := func(name string, size int64, r io.Reader) error {
		h := sha256.New()
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: time.Now().Truncate(time.Second), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}); err != nil {
			return err
		}
		if _, err := io.Copy(io.MultiWriter(tw, h), ctxio.Reader(ctx, r)); err != nil {
			return err
		}
		fmt.Fprintf(&manifest, "SHA256(%s)= %s\n", name, hex.EncodeToString(h.Sum(nil)))
		return nil
	}
	err = add(vm.Name+".ovf", int64(len(desc)), bytes.NewReader(desc))
	for _, d := range disks {
		if err != nil {
			break
		}
		var in *os.File
		if in, err = os.Open(d.Path); err == nil {
			err = add(d.Name, d.Size, in)
			in.Close()
		}
	}
	if err == nil {
		mf := manifest.Bytes()
		err = tw.WriteHeader(&tar.Header{Name: vm.Name + ".mf", Mode: 0o644, Size: int64(len(mf)), ModTime: time.Now().Truncate(time.Second), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR})
		if err == nil {
			_, err = tw.Write(mf)
		}
	}
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return fmt.Errorf("writing the OVA %q: %w", out, err)
	}
	return f.Commit()
}

// Descriptor is the OVF 1.0 descriptor of vm whose disks are the files
// disks (names in the OVA and sizes).
func Descriptor(vm VM, disks []file) ([]byte, error) {
	type diskRef struct {
		Disk
		file
		N int
	}
	data := struct {
		VM
		Refs []diskRef
	}{VM: vm}
	for i, d := range vm.Disks {
		data.Refs = append(data.Refs, diskRef{Disk: d, file: disks[i], N: i + 1})
	}
	var b bytes.Buffer
	if err := descriptor.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("writing the OVF descriptor of %q: %w", vm.Name, err)
	}
	return b.Bytes(), nil
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// descriptor is the OVF template; rasd elements in the schema's
// (alphabetical) order.
var descriptor = template.Must(template.New("ovf").Funcs(template.FuncMap{"x": xmlEscape, "add": func(a, b int) int { return a + b }}).Parse(`<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="gold-standard-images" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
{{- range .Refs}}
    <File ovf:href="{{x .Name}}" ovf:id="file{{.N}}" ovf:size="{{.Size}}"/>
{{- end}}
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
{{- range .Refs}}
    <Disk ovf:capacity="{{.Capacity}}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk{{.N}}" ovf:fileRef="file{{.N}}" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
{{- end}}
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="VM Network">
      <Description>The VM Network network</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{{x .Name}}">
    <Info>A virtual machine</Info>
    <Name>{{x .Name}}</Name>
    <OperatingSystemSection ovf:id="100" vmw:osType="{{x .GuestOS}}">
      <Info>The kind of installed guest operating system</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{{x .Name}}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of Virtual CPUs</rasd:Description>
        <rasd:ElementName>{{.CPUs}} virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>{{.CPUs}}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>{{.MemoryMiB}}MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>{{.MemoryMiB}}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Description>SCSI Controller</rasd:Description>
        <rasd:ElementName>SCSI Controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>{{x .SCSI}}</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
{{- range $i, $d := .Refs}}
      <Item>
        <rasd:AddressOnParent>{{$i}}</rasd:AddressOnParent>
        <rasd:ElementName>Hard Disk {{$d.N}}</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk{{$d.N}}</rasd:HostResource>
        <rasd:InstanceID>{{add 4 $i}}</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
{{- end}}
      <Item>
        <rasd:AddressOnParent>7</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>VM Network</rasd:Connection>
        <rasd:Description>{{x .NIC}} ethernet adapter on "VM Network"</rasd:Description>
        <rasd:ElementName>Network adapter 1</rasd:ElementName>
        <rasd:InstanceID>{{add 4 (len .Refs)}}</rasd:InstanceID>
        <rasd:ResourceSubType>{{x .NIC}}</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
{{- if eq .Firmware "efi"}}
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
{{- end}}
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`))
