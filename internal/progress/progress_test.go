package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestDonePrintsSizeAndRateOnce(t *testing.T) {
	var out bytes.Buffer
	m := New(&out, "iso: test.iso", 3_000_000, 1_000_000)
	m.Write(make([]byte, 2_000_000))
	m.Done()
	m.Done()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ">> iso: test.iso: 3.0 MB in ") || !strings.HasSuffix(last, "/s") {
		t.Errorf("final line = %q", last)
	}
	if strings.Count(out.String(), " in ") != 1 {
		t.Errorf("final line printed more than once: %q", out.String())
	}
}

func TestBytesFormatsHumanSizes(t *testing.T) {
	for n, want := range map[int64]string{512: "512 B", 1500: "1.5 kB", 4_100_000_000: "4.1 GB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
