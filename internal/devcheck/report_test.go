package devcheck

import (
	"bytes"
	"context"
	"gold-standard-images/internal/run/runtest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// stream is a go test -json run of three packages: a ends, b fails, c runs on.
const stream = `{"Time":"2026-12-07T10:00:00Z","Action":"start","Package":"p/a"}
{"Time":"2026-12-07T10:00:01Z","Action":"start","Package":"p/b"}
{"Time":"2026-12-07T10:00:02Z","Action":"start","Package":"p/c"}
not json: a line of go test's own
{"Time":"2026-12-07T10:00:03Z","Action":"pass","Package":"p/a","Test":"TestX","Elapsed":2}
{"Time":"2026-12-07T10:00:04Z","Action":"pass","Package":"p/a","Elapsed":4.2}
{"Time":"2026-12-07T10:00:09Z","Action":"fail","Package":"p/b","Elapsed":8}
`

func TestThePackagesOfARunAreFollowedFromItsJSON(t *testing.T) {
	p := newPackages()
	if err := p.read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 10, 1, 2, 0, time.UTC)
	if got := strings.Join(p.running(now), ", "); got != "p/c (1m0s)" {
		t.Errorf("running: %q, want p/c (1m0s)", got)
	}
	var b bytes.Buffer
	p.slowest(&b, 10)
	want := ">> test: the 2 slowest packages\n         8s  fail  p/b\n       4.2s  pass  p/a\n"
	if b.String() != want {
		t.Errorf("slowest:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	p.slowest(&b, 1)
	if strings.Count(b.String(), "\n") != 2 || !strings.Contains(b.String(), "p/b") {
		t.Errorf("slowest 1:\n%s", b.String())
	}
}

func TestAHeartbeatNamesThePackagesStillRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "go-test.json")
	if err := os.WriteFile(path, []byte(stream), 0o644); err != nil {
		t.Fatal(err)
	}
	var b runtest.Buffer
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { heartbeat(path, 10*time.Millisecond, &b, stop); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), "still running: p/c (") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	<-done
	if !strings.Contains(b.String(), ">> test: 2 packages done, still running: p/c (") {
		t.Fatalf("heartbeat said %q", b.String())
	}
}

// A real run through gotestsum on two packages of this repository: a line
// per package with its time, the JUnit report naming their tests, the
// slowest packages at the end.
func TestARunReportsEachPackageWithItsTimeAndWritesJUnit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gotestsum and runs go test")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	reports := t.TempDir()
	var out, log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	err := goTest(ctx, root, reports, nil, []string{"./internal/ctxio", "./internal/filelock"}, "", &out, &log)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), log.String())
	}
	for _, pkg := range []string{"internal/ctxio", "internal/filelock"} {
		if !strings.Contains(out.String(), pkg+" (") {
			t.Errorf("no line with its time for %s:\n%s", pkg, out.String())
		}
		if !strings.Contains(log.String(), "  gold-standard-images/"+pkg+"\n") {
			t.Errorf("%s is not among the slowest packages:\n%s", pkg, log.String())
		}
	}
	junit, err := os.ReadFile(filepath.Join(reports, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(junit), `name="TestALockHeldByAKilledProcessIsTakenOver"`) {
		t.Errorf("junit.xml does not name the tests it ran:\n%.600s", junit)
	}
}
