package convert

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/ctxio"
	"gold-standard-images/internal/diskcheck"
	"gold-standard-images/internal/layerdigest"
	"gold-standard-images/internal/ova"
	"gold-standard-images/internal/progress"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/run"
)

const mib = 1 << 20

// asBuilt ships the Packer output unchanged: a hard link (instant, no
// space), or a copy across file systems.
func asBuilt(ctx context.Context, j *job, tmp string) ([]string, error) {
	return nil, linkOrCopy(j.input, tmp)
}

// fixedVHD is Azure's format: a fixed VHD whose virtual size is a whole
// number of MiB (file size = N MiB + the 512-byte footer). The VHD is
// created at the rounded size and the disk converted into it in one pass,
// with no raw copy in between. The new VHD is all zeros (a sparse file), so
// --target-is-zero (qemu-img 5.0+) skips writing the zero blocks: the VHD
// stays sparse and takes the time of the data, not of the virtual size.
func fixedVHD(ctx context.Context, j *job, tmp string) ([]string, error) {
	size, err := virtualSize(ctx, j, j.input, "qcow2")
	if err != nil {
		return nil, err
	}
	rounded := (size + mib - 1) / mib * mib
	if err := j.qemuImg(ctx, "create", "-q", "-f", "vpc", "-o", "subformat=fixed,force_size", tmp, fmt.Sprint(rounded)); err != nil {
		return nil, err
	}
	if err := j.qemuImg(ctx, "convert", "-n", "--target-is-zero", "-f", "qcow2", "-O", "vpc", j.input, tmp); err != nil {
		return nil, fmt.Errorf("reading %q: %w", j.input, err)
	}
	return nil, nil
}

// gcpTarball is GCP's format: a gzip tarball holding exactly disk.raw, GNU
// oldgnu format, sparse.
func gcpTarball(ctx context.Context, j *job, tmp string) ([]string, error) {
	raw := filepath.Join(filepath.Dir(tmp), "disk.raw")
	if err := j.qemuImg(ctx, "convert", "-f", "qcow2", "-O", "raw", j.input, raw); err != nil {
		return nil, fmt.Errorf("reading %q: %w", j.input, err)
	}
	defer os.Remove(raw)
	return nil, tarballRaw(ctx, raw, tmp, j.newest)
}

// tarballRaw writes the sparse tarball of the raw disk at raw to out
// (through a temporary name), with disk.raw owned by root and dated mtime.
func tarballRaw(ctx context.Context, raw, out string, mtime time.Time) error {
	in, err := os.Open(raw)
	if err != nil {
		return fmt.Errorf("reading %q: %w", raw, err)
	}
	defer in.Close()
	f, err := atomicfile.Create(out, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	z := newParallelGzip(f, gzip.DefaultCompression)
	err = writeSparseTar(ctx, z, in, tarEntry{Name: "disk.raw", Mode: 0o644, Uname: "root", Gname: "root", ModTime: mtime})
	if cerr := z.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", out, err)
	}
	return f.Commit()
}

// rootfsTarball is the docker row: the guest's root file system as a
// tarball without kernel, modules, firmware or bootloader (rootfsExcludes), read from the disk with libguestfs (which inspects the disk to
// find and mount its file systems), keeping numeric owners, modes, setuid
// bits, extended attributes, SELinux labels and ACLs. libguestfs boots a
// small appliance: with KVM in seconds, without it (TCG) in a minute or so.
// Where KVM is present but runs no guest (kvm.Probe), libguestfs is told to
// use TCG, since its own choice would wait forever. The layer digests of
// the tarball are computed as it is written (internal/layerdigest).
func rootfsTarball(ctx context.Context, j *job, tmp string) ([]string, error) {
	env, accel, err := j.libguestfsEnv(ctx)
	if err != nil {
		return nil, err
	}
	f, err := atomicfile.Create(tmp, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Abort()
	h := layerdigest.NewHasher()
	z := newParallelGzip(io.MultiWriter(f, h.Gzip()), gzip.DefaultCompression)
	err = run.Run(ctx, run.Cmd{
		Name: "guestfish",
		Args: []string{"--ro", "--format=qcow2", "-a", j.input, "-i",
			"tar-out", "/", "-", "numericowner:true", "xattrs:true", "selinux:true", "acls:true",
			"excludes:" + strings.Join(rootfsExcludes, " ")},
		Env:     env,
		Output:  j.tools,
		Stdout:  io.MultiWriter(z, h.Tar()),
		Timeout: boundFor(j.input, guestfishStartup, guestfishRate),
		Log:     j.toolLog,
		Hint:    fmt.Sprintf("the libguestfs appliance did not start or stalled (%s; QEMU_ACCELERATOR=tcg or LIBGUESTFS_BACKEND_SETTINGS=force_tcg forces TCG, LIBGUESTFS_DEBUG=1 shows where it stops), or a full disk (df -h %s)", accel.Line, j.outDir),
	})
	if cerr := z.Close(); err == nil {
		err = cerr
	}
	digests := h.Sum()
	if err != nil {
		return nil, fmt.Errorf("extracting the root file system of %q: %w", j.input, err)
	}
	if err := f.Commit(); err != nil {
		return nil, err
	}
	// The row places its file itself: its SHA-256 is known already, and
	// the layer's digests for upload:docker are recorded once it is in
	// place (the record goes beside it, so never into a folder that
	// holds no artifact yet).
	final := filepath.Join(j.outDir, filepath.Base(tmp))
	if err := j.place(tmp, final, strings.TrimPrefix(digests.Digest, "sha256:")); err != nil {
		return nil, err
	}
	info, err := os.Stat(final)
	if err == nil {
		err = layerdigest.Save(final, info, digests)
	}
	if err != nil {
		j.log.printf("%s: the layer digests were not recorded (upload:docker computes them): %v", j.provider, err)
	}
	j.log.printf("%s: %s made", j.provider, filepath.Base(final))
	return []string{filepath.Base(final)}, nil
}

// rootfsExcludes keep what only a booting machine needs out of the
// container's root file system: kernels, initramfs and bootloader (/boot,
// with an EFI system partition below it), modules and firmware (/lib is a
// link to /usr/lib on EL 7+ and Debian 12, both are listed for the others).
// tar's patterns on the "./"-relative names: the folders stay, empty.
var rootfsExcludes = []string{"./boot/*", "./lib/modules/*", "./usr/lib/modules/*", "./lib/firmware/*", "./usr/lib/firmware/*"}

// vmwareOVA packs the VMX and its disks into an OVA with ovftool; without
// ovftool it makes the OVA itself (internal/ova: OVF descriptor,
// streamOptimized VMDKs by qemu-img, SHA256 manifest).
func vmwareOVA(ctx context.Context, j *job, tmp string) ([]string, error) {
	if _, err := exec.LookPath("ovftool"); err == nil {
		return nil, run.Run(ctx, run.Cmd{Name: "ovftool", Args: ovftoolArgs(j.ovaHash, j.input, tmp), Output: j.tools,
			Timeout: boundFor(j.inDir, qemuImgStartup, qemuImgRate), Log: j.toolLog, Hint: fmt.Sprintf("a full or stalled disk (df -h %s)", j.outDir)})
	}
	return nil, ova.FromVMX(ctx, j.input, tmp, j.stem, ova.Options{Output: j.tools, Log: j.toolLog, Timeout: boundFor(j.inDir, qemuImgStartup, qemuImgRate)})
}

// ovftoolArgs are the arguments of ovftool packing the VMX in into the OVA
// out: thin-provisioned disks, compressed (level 1), as the original
// project's ovftool line, and the manifest hashed with hash (the site's
// vmware_sha: sha1, sha256 or sha512; empty leaves ovftool's default).
func ovftoolArgs(hash, in, out string) []string {
	args := []string{"--acceptAllEulas", "--diskMode=thin", "--compress=1"}
	if hash != "" {
		args = append(args, "--shaAlgorithm="+hash)
	}
	return append(args, in, out)
}

// vmwareFiles lists the files of a VMware VM in dir: the .vmx last, so a
// present .vmx means its disks are present too.
func vmwareFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the Packer output %q: %w", dir, err)
	}
	var files []string
	var vmx string
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".vmdk", ".vmxf", ".vmsd", ".nvram":
			files = append(files, e.Name())
		case ".vmx":
			vmx = e.Name()
		}
	}
	return append(files, vmx), nil
}

// extentOf matches the names of the extent files of the split VMDK disk
// (disk-s001.vmdk, disk-f001.vmdk, disk-flat.vmdk): parts of it, which
// qemu-img opens only through disk's descriptor.
func extentOf(disk string) *regexp.Regexp {
	base := regexp.QuoteMeta(strings.TrimSuffix(disk, ".vmdk"))
	return regexp.MustCompile(`^` + base + `-(s|f)[0-9]{3}\.vmdk$|^` + base + `-flat\.vmdk$`)
}

// vmdkDescriptors are the VMDK files among files that are disks of their
// own, not extents of another's.
func vmdkDescriptors(files []string) []string {
	var disks []string
	for _, f := range files {
		if filepath.Ext(f) != ".vmdk" {
			continue
		}
		if !slices.ContainsFunc(files, func(d string) bool { return d != f && filepath.Ext(d) == ".vmdk" && extentOf(d).MatchString(f) }) {
			disks = append(disks, f)
		}
	}
	return disks
}

// writeVmwareBox writes the Vagrant box for the vmware_desktop provider of
// the VM in j.inDir to tmp; the disk named disk (a file name in the VM's
// folder) is taken from the file copy instead, without the extents of a
// split disk of that name (the copy is one file). An empty disk boxes the
// VM as built.
func writeVmwareBox(ctx context.Context, j *job, tmp, disk, copy string) error {
	files, err := vmwareFiles(j.inDir)
	if err != nil {
		return err
	}
	extent := extentOf(disk)
	b, err := newBox(tmp, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	defer b.abort()
	b.addJSON(map[string]any{"provider": "vmware_desktop"})
	b.addBytes("Vagrantfile", []byte(vagrantfile("")))
	for _, name := range files {
		switch {
		case disk != "" && name == disk:
			b.addFile(ctx, name, copy)
		case disk != "" && extent.MatchString(name):
		default:
			b.addFile(ctx, name, filepath.Join(j.inDir, name))
		}
	}
	return b.commit()
}

// writeLibvirtBox writes the libvirt box of the qcow2 disk to tmp: the
// qcow2 as box.img.
func writeLibvirtBox(ctx context.Context, j *job, disk, tmp string) error {
	size, err := virtualSize(ctx, j, disk, "qcow2")
	if err != nil {
		return err
	}
	b, err := newBox(tmp, gzip.BestSpeed) // the qcow2 is compressed already
	if err != nil {
		return err
	}
	defer b.abort()
	b.addJSON(map[string]any{"provider": "libvirt", "format": "qcow2", "virtual_size": (size + 1<<30 - 1) >> 30})
	b.addBytes("Vagrantfile", []byte(vagrantfile(`  config.vm.provider :libvirt do |libvirt|
    libvirt.driver = "kvm"
  end
`)))
	b.addFile(ctx, "box.img", disk)
	return b.commit()
}

var baseMAC = regexp.MustCompile(`<Adapter slot="0"[^>]*MACAddress="([0-9A-Fa-f]{12})"`)

// virtualboxBox is the Vagrant box for the virtualbox provider: the OVA's
// descriptor as box.ovf and its disks, without the manifest (it names the
// old descriptor).
func virtualboxBox(ctx context.Context, j *job, tmp string) ([]string, error) {
	return nil, writeVirtualboxBox(ctx, j, tmp, nil)
}

// writeVirtualboxBox writes the virtualbox box of the OVA j.input to tmp;
// the disks named in disks (name in the OVA to file) are taken from those
// files instead, and their size is dropped from the descriptor (optional
// in OVF).
func writeVirtualboxBox(ctx context.Context, j *job, tmp string, disks map[string]string) error {
	in, err := os.Open(j.input)
	if err != nil {
		return fmt.Errorf("reading %q: %w", j.input, err)
	}
	defer in.Close()
	b, err := newBox(tmp, gzip.BestSpeed) // OVA disks are compressed already
	if err != nil {
		return err
	}
	defer b.abort()
	b.addJSON(map[string]any{"provider": providers.VagrantVirtualBox})
	tr := tar.NewReader(in)
	sawOVF := false
	for b.err == nil {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the OVA %q: %w", j.input, err)
		}
		switch filepath.Ext(h.Name) {
		case ".mf":
			continue
		case ".ovf":
			ovf, err := io.ReadAll(tr)
			if err != nil {
				return fmt.Errorf("reading the OVA %q: %w", j.input, err)
			}
			sawOVF = true
			for name := range disks {
				ovf = dropFileSize(ovf, name)
			}
			extra := ""
			if m := baseMAC.FindSubmatch(ovf); m != nil {
				extra = fmt.Sprintf("  config.vm.base_mac = %q\n", m[1])
			}
			b.addBytes("box.ovf", ovf)
			b.addBytes("Vagrantfile", []byte(vagrantfile(extra)))
		default:
			if path, ok := disks[filepath.Base(h.Name)]; ok {
				b.addFile(ctx, filepath.Base(h.Name), path)
				continue
			}
			b.addStream(ctx, filepath.Base(h.Name), h.Size, tr)
		}
	}
	if b.err == nil && !sawOVF {
		return fmt.Errorf("reading the OVA %q: no .ovf descriptor in it", j.input)
	}
	return b.commit()
}

// dropFileSize removes the ovf:size attribute of the descriptor's File
// reference to name (the file was replaced by one of another size).
func dropFileSize(ovf []byte, name string) []byte {
	ref := regexp.MustCompile(`<File\b[^>]*ovf:href="` + regexp.QuoteMeta(name) + `"[^>]*>`)
	size := regexp.MustCompile(`\s+ovf:size="\d*"`)
	return ref.ReplaceAllFunc(ovf, func(m []byte) []byte { return size.ReplaceAll(m, nil) })
}

func vagrantfile(body string) string {
	return "# Generated by gold-standard-images.\nVagrant.configure(\"2\") do |config|\n" + body + "end\n"
}

// box writes a Vagrant box: a gzip tarball. The first error sticks and is
// returned by commit.
type box struct {
	f   *atomicfile.File
	z   *parallelGzip
	tw  *tar.Writer
	err error
	now time.Time
}

func newBox(path string, level int) (*box, error) {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return nil, err
	}
	z := newParallelGzip(f, level)
	return &box{f: f, z: z, tw: tar.NewWriter(z), now: time.Now().Truncate(time.Second)}, nil
}

func (b *box) addJSON(v any) {
	data, err := json.Marshal(v)
	if err != nil && b.err == nil {
		b.err = err
	}
	b.addBytes("metadata.json", append(data, '\n'))
}

func (b *box) addBytes(name string, data []byte) {
	b.addStream(context.Background(), name, int64(len(data)), strings.NewReader(string(data)))
}

func (b *box) addFile(ctx context.Context, name, path string) {
	if b.err != nil {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		b.err = fmt.Errorf("reading %q: %w", path, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.err = fmt.Errorf("reading %q: %w", path, err)
		return
	}
	b.addStream(ctx, name, st.Size(), f)
}

func (b *box) addStream(ctx context.Context, name string, size int64, r io.Reader) {
	if b.err != nil {
		return
	}
	h := &tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: b.now, Typeflag: tar.TypeReg}
	if err := b.tw.WriteHeader(h); err != nil {
		b.err = err
		return
	}
	if _, err := io.Copy(b.tw, ctxio.Reader(ctx, r)); err != nil {
		b.err = fmt.Errorf("adding %s: %w", name, err)
	}
}

func (b *box) commit() error {
	if b.err == nil {
		b.err = b.tw.Close()
	}
	if err := b.z.Close(); b.err == nil {
		b.err = err
	}
	if b.err != nil {
		return fmt.Errorf("writing the box %q: %w", b.f.Path(), b.err)
	}
	return b.f.Commit()
}

func (b *box) abort() {
	b.z.Close()
	b.f.Abort()
}

// linkOrCopy makes dst the same content as src: a hard link when both are
// on one file system, else a copy (written whole or not at all).
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("reading %q: %w", src, err)
	}
	defer in.Close()
	out, err := atomicfile.Create(dst, 0o644)
	if err != nil {
		return err
	}
	defer out.Abort()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("copying %q: %w", src, err)
	}
	return out.Commit()
}

// checkInput refuses a damaged or hostile Packer output before anything is
// made from it: a disk that refers to another file (diskcheck: a backing
// file, a VMDK extent outside the VM's folder), which would carry a file
// of this host into the image; an OVA that is not a whole tar archive; a
// qcow2 that fails `qemu-img check` (qemu-img convert reads a truncated
// qcow2 as zeros, silently; leaked clusters, exit status 3, are harmless
// and accepted). An OVA's disk is checked where it is read (the debug box).
func checkInput(ctx context.Context, j *job, path string) error {
	switch filepath.Ext(path) {
	case ".ova":
		return checkOVA(path)
	case ".vmx":
		files, err := vmwareFiles(j.inDir)
		if err != nil {
			return err
		}
		for _, f := range vmdkDescriptors(files) { // a descriptor's check reads its extents
			if _, err := j.checkDisk(ctx, filepath.Join(j.inDir, f), "vmdk"); err != nil {
				return err
			}
		}
	case ".qcow2":
		if _, err := j.checkDisk(ctx, path, "qcow2"); err != nil {
			return err
		}
		err := j.qemuImg(ctx, "check", "-f", "qcow2", path)
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 3 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("checking the disk image %q: %w", path, err)
		}
	}
	return nil
}

// checkOVA reads the OVA's tar structure (skipping the data) to the end.
func checkOVA(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading %q: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading %q: %w", path, err)
	}
	tr := tar.NewReader(f)
	var ovf bool
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("checking the OVA %q: not a whole tar archive: %w", path, err)
		}
		pos, _ := f.Seek(0, io.SeekCurrent)
		if pos+h.Size > st.Size() {
			return fmt.Errorf("checking the OVA %q: member %q runs past the end of the file (truncated?)", path, h.Name)
		}
		ovf = ovf || filepath.Ext(h.Name) == ".ovf"
		if filepath.Ext(h.Name) == ".vmdk" {
			if err := sparseVMDK(tr); err != nil {
				return fmt.Errorf("checking the OVA %q: its disk %q %w", path, h.Name, err)
			}
		}
	}
	if !ovf {
		return fmt.Errorf("checking the OVA %q: no .ovf descriptor in it", path)
	}
	return nil
}

// vmdkExtent is an extent line of a VMDK descriptor: access, sectors, type,
// "file".
var vmdkExtent = regexp.MustCompile(`(?m)^\s*(RW|RDONLY|NOACCESS)\s+\d+\s+\w+\s+"([^"]*)"`)

// sparseVMDK refuses a VMDK in an OVA that is not a sparse extent holding
// its own data (magic KDMV, as VirtualBox and ovftool export): a text
// descriptor names other files, which would be read from this host.
func sparseVMDK(r io.Reader) error {
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(r, head)
	head = head[:n]
	if bytes.HasPrefix(head, []byte("KDMV")) {
		return nil
	}
	if m := vmdkExtent.FindSubmatch(head); m != nil {
		return fmt.Errorf("is a VMDK descriptor whose extent is %q, not a disk that stands alone", m[2])
	}
	return fmt.Errorf("is not a sparse VMDK (no KDMV magic)")
}

// virtualSize is the disk size the guest sees, once diskcheck has found
// the disk standing alone, in format.
func virtualSize(ctx context.Context, j *job, path, format string) (int64, error) {
	d, err := j.checkDisk(ctx, path, format)
	return d.VirtualSize, err
}

// checkDisk refuses a disk that is not format or refers to another file
// (a backing file, a VMDK extent elsewhere), before anything reads it, and
// one larger than the site's disk_size (a 2 TiB Packer output would become
// a 2 TiB VHD that checksum then reads for half an hour).
func (j *job) checkDisk(ctx context.Context, path, format string) (diskcheck.Disk, error) {
	d, err := diskcheck.Check(ctx, path, format, diskcheck.Options{Output: j.tools, Log: j.toolLog})
	if err == nil && j.diskSize > 0 && d.VirtualSize > j.diskSize+j.diskSize/100 {
		return d, fmt.Errorf("checking the disk image %q: its virtual size %s is above the site's disk_size %d MiB (%s): not what this build made; rebuild it (FORCE=1), or set disk_size to what it was built with", path, progress.Bytes(d.VirtualSize), j.diskSize>>20, progress.Bytes(j.diskSize))
	}
	return d, err
}

func (j *job) qemuImg(ctx context.Context, args ...string) error {
	return j.qemuImgOver(ctx, j.input, args...)
}

// qemuImgOver runs qemu-img bounded by the size of data (a file or a
// folder): the disk it reads where that is not j.input (a debug box's
// copy, the VMware disk's extents beside a tiny descriptor).
func (j *job) qemuImgOver(ctx context.Context, data string, args ...string) error {
	return run.Run(ctx, run.Cmd{Name: "qemu-img", Args: args, Output: j.tools,
		Timeout: boundFor(data, qemuImgStartup, qemuImgRate), Log: j.toolLog,
		Hint: fmt.Sprintf("a full or stalled disk (df -h %s)", j.outDir)})
}

// Bounds of the external tools: a start-up allowance plus the input's
// allocated size at a rate far below what they do even under TCG, so only a
// hang reaches it. Variables for the tests.
var (
	qemuImgStartup   = 2 * time.Minute
	qemuImgRate      = int64(10 * mib) // bytes per second
	guestfishStartup = 10 * time.Minute
	guestfishRate    = int64(4 * mib)
)

// boundFor is startup plus the time to read the allocated bytes of path (a
// file, or every file of a folder) at rate bytes per second.
func boundFor(path string, startup time.Duration, rate int64) time.Duration {
	return startup + time.Duration(allocated(path)/rate)*time.Second
}

// allocated is the number of bytes path (a file, or the files of a folder)
// takes on disk (the size when that cannot be told), so a sparse disk
// counts for its data only.
func allocated(path string) int64 {
	var n int64
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += info.Size()
		}
		return nil
	})
	return n
}
