package convert

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestAPackerOutputLargerThanDiskSizeIsRefusedBeforeConverting: a qcow2
// of 2000 GiB where the site says 8192 MiB is refused, naming both, before
// a 2 TiB VHD is made.
func TestAPackerOutputLargerThanDiskSizeIsRefusedBeforeConverting(t *testing.T) {
	need(t, "qemu-img")
	cfg := testConfig(t)
	cfg.Site.DiskSize = 8192
	in := packerOutput(t, cfg, "azure", "qcow2")
	sh(t, "", "qemu-img", "create", "-q", "-f", "qcow2", in, "2000G")
	_, err := Run(context.Background(), cfg, selectOnly(t, "azure"), Options{})
	t.Logf("error: %v", err)
	for _, w := range []string{in, "2.1 TB", "disk_size 8192 MiB"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not say %q", w)
		}
	}
	if _, err := os.Stat(artifactPath(cfg, "azure", "vhd")); err == nil {
		t.Error("the VHD was made")
	}
}

// TestTwoConversionsOfOneBuildMakeEachOutputOnce: the second of two
// conversions run at once waits for the first, says so, and then finds
// every output up to date.
func TestTwoConversionsOfOneBuildMakeEachOutputOnce(t *testing.T) {
	need(t, "qemu-img")
	cfg := testConfig(t)
	sh(t, "", "qemu-img", "create", "-q", "-f", "qcow2", packerOutput(t, cfg, "gcp", "qcow2"), "64M")
	sh(t, "", "qemu-img", "create", "-q", "-f", "qcow2", packerOutput(t, cfg, "azure", "qcow2"), "64M")
	var logs [2]bytes.Buffer
	var wg sync.WaitGroup
	for i := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := Run(context.Background(), cfg, selectOnly(t, "azure,gcp"), Options{Log: &logs[i]}); err != nil {
				t.Errorf("conversion %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	all := logs[0].String() + logs[1].String()
	t.Logf("the two conversions said:\n%s\n--\n%s", logs[0].String(), logs[1].String())
	for _, out := range []string{filepath.Base(artifactPath(cfg, "azure", "vhd")), filepath.Base(artifactPath(cfg, "gcp", "tar.gz"))} {
		if n := strings.Count(all, out+" made"); n != 1 {
			t.Errorf("%s made %d times, want once", out, n)
		}
		if !strings.Contains(all, out+" up to date") {
			t.Errorf("%s was not found up to date by the second conversion", out)
		}
	}
	if !strings.Contains(all, "waiting for another conversion") {
		t.Error("the second conversion did not say it waits")
	}
}
