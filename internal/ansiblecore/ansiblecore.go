// Package ansiblecore knows which ansible-core releases can manage which
// Enterprise Linux release, by the Python each release's guest has, and
// asks the host which ansible-core it has. The builds run the
// ansible-playbook found first on PATH, so PATH chooses; the preflight
// refuses a pair that ansible-core's support matrix does not cover
// (ansible/README.md explains the choice).
package ansiblecore

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gold-standard-images/internal/run"
)

// Unknown is the version of an ansible-core that did not say.
const Unknown = "unknown"

// Span is the ansible-core releases that manage one major release of
// Enterprise Linux: from First to Last (minor releases such as "2.16"),
// Last empty for no end.
type Span struct {
	Major  int    // the EL major release
	Python string // the guest's Python that Ansible runs
	First  string
	Last   string
}

// Spans is ansible-core's support matrix for the guests' Python: 2.14 and
// 2.15 manage 2.7 and 3.5-3.11, 2.16 manages 2.7 and 3.6-3.12, 2.17 and
// later drop 2.7 and 3.6. 2.14 is the oldest the roles are written for
// (Debian 12's).
var Spans = []Span{
	{Major: 7, Python: "2.7", First: "2.14", Last: "2.16"},
	{Major: 8, Python: "3.6 (platform-python)", First: "2.14", Last: "2.16"},
	{Major: 9, Python: "3.9", First: "2.14"},
	{Major: 10, Python: "3.12", First: "2.16"},
}

// Check says whether ansible-core version core can manage EL release
// major; a release the table does not know is not refused.
func Check(core string, major int) error {
	for _, s := range Spans {
		if s.Major != major {
			continue
		}
		v, ok := minor(core)
		if !ok {
			return fmt.Errorf("ansible-core version %q: want a version such as 2.16.14", core)
		}
		if less(v, s.First) || (s.Last != "" && less(s.Last, v)) {
			return fmt.Errorf("ansible-core %s cannot manage EL %d (Python %s): it needs ansible-core %s; %s", core, major, s.Python, s.want(), install)
		}
		return nil
	}
	return nil
}

// install says how to put another ansible-core first on PATH.
const install = "python3 -m venv ~/.venvs/ansible && ~/.venvs/ansible/bin/pip install 'ansible-core>=2.16,<2.17', then put ~/.venvs/ansible/bin first on PATH (ansible/README.md)"

func (s Span) want() string {
	if s.Last == "" {
		return s.First + " or later"
	}
	if s.First == s.Last {
		return s.First
	}
	return s.First + " to " + s.Last
}

// minor is the "2.16" of "2.16.14".
func minor(version string) (string, bool) {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return "", false
	}
	for _, p := range parts[:2] {
		if _, err := strconv.Atoi(p); err != nil {
			return "", false
		}
	}
	return parts[0] + "." + parts[1], true
}

// less compares two "major.minor" strings numerically.
func less(a, b string) bool {
	am, an := split(a)
	bm, bn := split(b)
	return am < bm || (am == bm && an < bn)
}

func split(v string) (int, int) {
	m, n, _ := strings.Cut(v, ".")
	x, _ := strconv.Atoi(m)
	y, _ := strconv.Atoi(n)
	return x, y
}

// Version is the ansible-core version of the ansible program bin
// ("ansible [core 2.14.18]" in `ansible --version`), or Unknown; asked
// once per program and process (it takes seconds).
func Version(ctx context.Context, bin string) string {
	mu.Lock()
	defer mu.Unlock()
	if v, ok := known[bin]; ok {
		return v
	}
	v := ask(ctx, bin)
	known[bin] = v
	return v
}

var (
	mu    sync.Mutex
	known = map[string]string{}
)

func ask(ctx context.Context, bin string) string {
	out, err := run.Output(ctx, run.Cmd{Name: bin, Args: []string{"--version"}, Timeout: time.Minute, Hint: "ansible --version did not answer"})
	if err != nil {
		return Unknown
	}
	if m := coreRe.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return Unknown
}

var coreRe = regexp.MustCompile(`\[core ([0-9][^\]\s]*)\]`)
