package devcheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// ReportDir is where a test run leaves its reports, relative to the
// repository root: junit.xml (for CI) and go-test.json (go test -json).
const ReportDir = "test-results"

// event is the part of a `go test -json` (test2json) line the reports read.
type event struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Elapsed float64
}

// packages follows a `go test -json` stream: which packages have started,
// which have ended and how long each took.
type packages struct {
	started map[string]time.Time
	took    map[string]time.Duration
	result  map[string]string // pass, fail or skip
}

func newPackages() *packages {
	return &packages{started: map[string]time.Time{}, took: map[string]time.Duration{}, result: map[string]string{}}
}

// add reads one line of the stream; lines that are not events are ignored.
func (p *packages) add(line []byte) {
	var e event
	if json.Unmarshal(line, &e) != nil || e.Package == "" {
		return
	}
	if _, ok := p.started[e.Package]; !ok {
		p.started[e.Package] = e.Time
	}
	if e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip") {
		p.took[e.Package] = time.Duration(e.Elapsed * float64(time.Second))
		p.result[e.Package] = e.Action
	}
}

// running lists the packages started and not ended, longest running first,
// each with how long it has run at now.
func (p *packages) running(now time.Time) []string {
	var names []string
	for name := range p.started {
		if _, done := p.result[name]; !done {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool { return p.started[names[i]].Before(p.started[names[j]]) })
	for i, name := range names {
		names[i] = fmt.Sprintf("%s (%s)", name, now.Sub(p.started[name]).Round(time.Second))
	}
	return names
}

// slowest writes the n packages that took longest, one a line.
func (p *packages) slowest(w io.Writer, n int) {
	names := make([]string, 0, len(p.took))
	for name := range p.took {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if p.took[names[i]] != p.took[names[j]] {
			return p.took[names[i]] > p.took[names[j]]
		}
		return names[i] < names[j]
	})
	if len(names) > n {
		names = names[:n]
	}
	fmt.Fprintf(w, ">> test: the %d slowest packages\n", len(names))
	for _, name := range names {
		fmt.Fprintf(w, "   %8s  %-4s  %s\n", p.took[name].Round(100*time.Millisecond), p.result[name], name)
	}
}

// readJSON reads a `go test -json` file into p.
func (p *packages) readJSON(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return p.read(f)
}

func (p *packages) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		p.add(sc.Bytes())
	}
	return sc.Err()
}

// heartbeat says every period which packages are still running, read from
// the `go test -json` file that grows at path, until stop is closed: the
// end-to-end tests run for minutes without a line of their own.
func heartbeat(path string, period time.Duration, w io.Writer, stop <-chan struct{}) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			p := newPackages()
			if p.readJSON(path) != nil {
				continue
			}
			if r := p.running(now); len(r) > 0 {
				fmt.Fprintf(w, ">> test: %d packages done, still running: %s\n", len(p.result), strings.Join(r, ", "))
			}
		}
	}
}
