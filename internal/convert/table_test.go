package convert

import (
	"reflect"
	"slices"
	"testing"

	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/tree"
)

func TestEveryProviderRowHasTheCodeOfItsArtifactAndItsBox(t *testing.T) {
	for _, r := range table() {
		p, _ := providers.Lookup(r.provider)
		if len(r.outputs) != 2 {
			t.Fatalf("%s: %d outputs, want the artifact and a box", r.provider, len(r.outputs))
		}
		art, box := r.outputs[0], r.outputs[1]
		if art.make == nil || art.ext != p.Artifact || art.kind != tree.Disk || art.debug {
			t.Errorf("%s: artifact %+v, want a disk .%s made %s (add its code to makers)", r.provider, art, p.Artifact, p.Make)
		}
		if box.make == nil || box.ext != "box" || box.kind != tree.Box || box.debug != p.DebugBox() {
			t.Errorf("%s: box %+v, want a %s box, debug %v (add its code to boxMakers)", r.provider, box, p.Box, p.DebugBox())
		}
	}
}

// TestAScratchProviderRowIsConvertedFromItsRow adds a row to providers.All
// and shows the conversion table takes it without an edit here.
func TestAScratchProviderRowIsConvertedFromItsRow(t *testing.T) {
	scratch := providers.Provider{Name: "scratch", Builder: providers.QEMU, Group: 2, Kind: providers.Cloud,
		Input: "qcow2", Artifact: "vhd", Make: providers.FixedVHD, Box: providers.VagrantLibvirt, RootLocked: true}
	defer func(all []providers.Provider) { providers.All = all }(providers.All)
	providers.All = append(slices.Clone(providers.All), scratch)

	if !slices.Contains(Providers(), "scratch") || !MakesBox("scratch") || !MakesDebugBox("scratch") {
		t.Fatalf("the conversion table does not take the scratch row: %v", Providers())
	}
	rows := table()
	r := rows[len(rows)-1]
	if r.provider != "scratch" || r.input != "qcow2" || r.outputs[0].ext != "vhd" ||
		reflect.ValueOf(r.outputs[0].make).Pointer() != reflect.ValueOf(fixedVHD).Pointer() ||
		reflect.ValueOf(r.outputs[1].make).Pointer() != reflect.ValueOf(libvirtDebugBox).Pointer() {
		t.Errorf("scratch row converted as %+v, want a fixed VHD from its qcow2 and a libvirt debug box", r)
	}
}
