package inspect

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// cpio is a newc archive of the named files (with some content each),
// padded to 512 bytes as dracut and the kernel leave it.
func cpio(names ...string) []byte {
	var b bytes.Buffer
	add := func(name string, data []byte) {
		fmt.Fprintf(&b, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x", 1, 0o100644, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		b.WriteString(name + "\x00")
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
		b.Write(data)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	for _, n := range names {
		add(n, []byte("content of "+n))
	}
	add("TRAILER!!!", nil)
	for b.Len()%512 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

func compress(t *testing.T, kind string, data []byte) []byte {
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	switch kind {
	case "gzip":
		w = gzip.NewWriter(&b)
	case "xz":
		w, err = xz.NewWriter(&b)
	case "zstd":
		w, err = zstd.NewWriter(&b)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestTheInitramfsListingReadsTheMicrocodePrefixAndEachCompression(t *testing.T) {
	early := cpio("kernel/x86/microcode/GenuineIntel.bin")
	main := append(cpio("./usr/lib/modules/5.14/kernel/drivers/scsi/hv_storvsc.ko.xz", "init"),
		cpio("usr/lib/modules/5.14/kernel/drivers/block/xen-blkfront.ko.zst")...)
	want := []string{"kernel/x86/microcode/GenuineIntel.bin", "usr/lib/modules/5.14/kernel/drivers/scsi/hv_storvsc.ko.xz", "init", "usr/lib/modules/5.14/kernel/drivers/block/xen-blkfront.ko.zst"}
	for _, kind := range []string{"gzip", "xz", "zstd"} {
		got, err := InitramfsFiles(bytes.NewReader(append(slices.Clone(early), compress(t, kind, main)...)))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", kind, got, want)
		}
	}
	plain, err := InitramfsFiles(bytes.NewReader(main))
	if err != nil || len(plain) != 3 {
		t.Errorf("uncompressed: %q, %v", plain, err)
	}
}

func TestADamagedInitramfsIsAnErrorNotAShortList(t *testing.T) {
	for name, data := range map[string][]byte{
		"truncated":      cpio("a", "b")[:130],
		"lz4":            {0x02, 0x21, 0x4c, 0x18, 1, 2, 3},
		"bad gzip":       {0x1f, 0x8b, 0, 0, 0},
		"bad cpio magic": []byte("070709" + string(make([]byte, 200))),
	} {
		if _, err := InitramfsFiles(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestModuleNamesIgnoreCompressionAndDashes(t *testing.T) {
	for p, want := range map[string]string{
		"lib/modules/3.10/kernel/drivers/block/xen-blkfront.ko.xz": "xen_blkfront",
		"kernel/drivers/net/ena/ena.ko":                            "ena",
		"x/hv_vmbus.ko.zst":                                        "hv_vmbus",
		"x/virtio_pci.ko.gz":                                       "virtio_pci",
		"usr/lib/modules/5.14/modules.dep":                         "",
		"bin/sh":                                                   "",
	} {
		if got := ModuleName(p); got != want {
			t.Errorf("ModuleName(%q) = %q, want %q", p, got, want)
		}
	}
}
