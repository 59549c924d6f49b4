package sbom

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/golden"
)

var sample = Inventory{
	Distro: "centos", Product: "CentOS Linux release 7.9.2009 (Core)", Format: "rpm",
	Kernels: []string{"3.10.0-1160.el7.x86_64"},
	Packages: []Package{
		{Name: "bash", Version: "4.2.46-34.el7", Arch: "x86_64"},
		{Name: "bind-libs", Version: "32:9.11.4-26.P2.el7", Arch: "x86_64"},
	},
}

var subject = Subject{VMName: "CentOS-7.9.2009", Version: "1.0.0", Provider: "gcp"}

func TestTheSPDXDocumentOfAnInventoryMatchesItsGoldenFileAndReadsBack(t *testing.T) {
	doc := Document(subject, sample, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	data, err := Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, data)
	read, err := Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the library's reader or the validation refuses the document: %v", err)
	}
	back := FromDocument(read)
	back.Product = sample.Product // the image package's comment only
	if !reflect.DeepEqual(back, sample) {
		t.Errorf("read back %+v\nwant %+v", back, sample)
	}
}

func TestTheSameImageGivesTheSameDocumentApartFromItsCreationTime(t *testing.T) {
	a, _ := Marshal(Document(subject, sample, time.Unix(0, 0)))
	b, _ := Marshal(Document(subject, sample, time.Unix(0, 0)))
	c := Document(subject, Inventory{Distro: "centos", Format: "rpm", Packages: sample.Packages[:1]}, time.Unix(0, 0))
	if !bytes.Equal(a, b) {
		t.Error("two documents of the same inventory differ")
	}
	if Document(subject, sample, time.Unix(0, 0)).DocumentNamespace == c.DocumentNamespace {
		t.Error("two different inventories share a namespace")
	}
}

func TestValidationNamesEveryProblemAtOnce(t *testing.T) {
	doc := Document(subject, sample, time.Unix(0, 0))
	doc.DataLicense = "MIT"
	doc.DocumentNamespace = "not a uri"
	doc.Packages[2].PackageSPDXIdentifier = doc.Packages[1].PackageSPDXIdentifier
	doc.Relationships[0].RefB.ElementRefID = "Nothing"
	err := Validate(doc)
	if err == nil {
		t.Fatal("an invalid document passed")
	}
	for _, want := range []string{"dataLicense", "documentNamespace", "used twice", "Nothing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %q:\n%v", want, err)
		}
	}
}

func TestADiskIsFoundInAPackerOutputFolderByItsName(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]int
		want  string
	}{
		{"qemu: the qcow2", map[string]int{"CentOS-7.9.2009-1.0.0_gcp.qcow2": 30, "packer.log": 40}, "CentOS-7.9.2009-1.0.0_gcp.qcow2"},
		{"vmware: the largest vmdk", map[string]int{"x-disk1.vmdk": 50, "x-disk2.vmdk": 5, "x.vmx": 1}, "x-disk1.vmdk"},
		{"virtualbox: the ova", map[string]int{"x.ova": 5, "x.ovf": 1}, "x.ova"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, size := range tc.files {
				writeFile(t, filepath.Join(dir, name), size)
			}
			got, err := FindDisk(dir)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(got) != tc.want {
				t.Errorf("found %s, want %s", filepath.Base(got), tc.want)
			}
		})
	}
	if _, err := FindDisk(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .qcow2") {
		t.Errorf("empty folder: %v, want an error saying no disk", err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x.qcow2"), 5)
	link := filepath.Join(dir, "big.qcow2")
	if err := os.Symlink("/etc/hostname", link); err != nil {
		t.Fatal(err)
	}
	if _, err := FindDisk(dir); err == nil || !strings.Contains(err.Error(), link) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a link named as a disk: %v, want an error naming it", err)
	}
}

func writeFile(t *testing.T, path string, size int) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Repeat([]byte{1}, size), 0o644); err != nil {
		t.Fatal(err)
	}
}
