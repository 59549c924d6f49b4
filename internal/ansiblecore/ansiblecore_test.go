package ansiblecore

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestEachReleaseTakesTheAnsibleCoreThatManagesItsPython(t *testing.T) {
	cases := []struct {
		core    string
		major   int
		refused string // in the error; empty: accepted
	}{
		{"2.14.18", 7, ""},
		{"2.16.14", 7, ""},
		{"2.17.0", 7, "ansible-core 2.17.0 cannot manage EL 7 (Python 2.7): it needs ansible-core 2.14 to 2.16"},
		{"2.18.3", 8, "cannot manage EL 8"},
		{"2.14.18", 9, ""},
		{"2.20.1", 9, ""},
		{"2.14.18", 10, "it needs ansible-core 2.16 or later"},
		{"2.16.0", 10, ""},
		{"2.13.9", 9, "it needs ansible-core 2.14 or later"},
		{"2.14.18", 11, ""},
		{"two", 9, `ansible-core version "two"`},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s for EL %d", tc.core, tc.major), func(t *testing.T) {
			err := Check(tc.core, tc.major)
			switch {
			case tc.refused == "" && err != nil:
				t.Errorf("Check(%q, %d) = %v, want accepted", tc.core, tc.major, err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Errorf("Check(%q, %d) = %v, want an error saying %q", tc.core, tc.major, err, tc.refused)
			}
		})
	}
}

func TestTheHostsAnsibleSaysItsCoreVersion(t *testing.T) {
	bin, err := exec.LookPath("ansible")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ansible is not installed: run scripts/host/install-test-tools.sh")
		}
		t.Skip("no ansible on PATH")
	}
	v := Version(context.Background(), bin)
	if _, ok := minor(v); !ok {
		t.Errorf("Version = %q, want a version", v)
	}
	if got := Version(context.Background(), "/nonexistent/ansible"); got != Unknown {
		t.Errorf("Version of a missing program = %q, want %q", got, Unknown)
	}
}
