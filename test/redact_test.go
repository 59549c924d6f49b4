package test

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The secrets planted in iso_url: a URL password and a signed link's token.
const (
	plantedPassword = "PLANTED-pw-8a1f3c"
	plantedToken    = "PLANTED-token-77d2e9"
)

// TestAPasswordInIsoURLIsNeverPrintedNorWritten runs the real targets
// (compiled once with mage -compile, run in a root of their own) on an OS
// definition whose iso_url carries a user:password and a signed token,
// against a mirror that answers 503 with Retry-After (so the retry lines
// and the error appear), and looks for the secrets in all they print and
// in every file they write.
func TestAPasswordInIsoURLIsNeverPrintedNorWritten(t *testing.T) {
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer mirror.Close()
	isoURL := strings.Replace(mirror.URL, "http://", "http://builder:"+plantedPassword+"@", 1) + "/rhel-server-7.9-x86_64-dvd.iso?_auth_=" + plantedToken + "&mirror=1"

	root := t.TempDir()
	def, err := os.ReadFile(filepath.Join(repoRoot(t), "templates", "os", "RedHat-7.9.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "templates", "os", "RedHat-7.9.json"), def, 0o644)
	site := fmt.Sprintf(`{"os": {"RedHat-7.9": {"iso_url": [%q], "iso_checksum": "%s"}}}`, isoURL, strings.Repeat("ab", 32))
	writeFile(t, filepath.Join(root, "templates", "site.json"), []byte(site), 0o600)

	mg := compileMage(t)
	var printed strings.Builder
	for _, args := range [][]string{{"config", "RedHat-7.9"}, {"iso:fetch", "RedHat-7.9"}, {"-v", "iso:fetch", "RedHat-7.9"}, {"iso:verify", "RedHat-7.9"}} {
		cmd := exec.Command(mg, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "ISO_CACHE=")
		out, err := cmd.CombinedOutput()
		fmt.Fprintf(&printed, "$ mage %s (%v)\n%s\n", strings.Join(args, " "), err, out)
	}
	t.Logf("what the targets printed:\n%s", printed.String())
	if !strings.Contains(printed.String(), "503") {
		t.Errorf("the fetch never met the mirror's 503: the test is not testing")
	}
	for _, secret := range []string{plantedPassword, plantedToken} {
		if n := strings.Count(printed.String(), secret); n > 0 {
			t.Errorf("the targets printed %q %d times", secret, n)
		}
	}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == filepath.Join(root, "templates", "site.json") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("reading %s: %v", path, err)
			return nil
		}
		for _, secret := range []string{plantedPassword, plantedToken} {
			if strings.Contains(string(data), secret) {
				t.Errorf("%s holds %q", path, secret)
			}
		}
		return nil
	})
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// compileMage compiles the targets once (mage -compile) into a binary that
// runs them with the folder it is started in as the repository root.
func compileMage(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mg")
	start := time.Now()
	if _, stderr, err := mage(t, repoRoot(t), nil, "-compile", bin); err != nil {
		t.Fatalf("mage -compile: %v\n%s", err, stderr)
	}
	t.Logf("mage -compile: %s", time.Since(start).Round(time.Second))
	return bin
}
