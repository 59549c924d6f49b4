package assemble

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/plan"
	"gold-standard-images/internal/release"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sign"
	"gold-standard-images/internal/sign/pgpkey"
)

// twoJobs is the plan of two simulated jobs of one vm_name.
func twoJobs(t *testing.T) *plan.Plan {
	t.Helper()
	p := &plan.Plan{Jobs: []plan.Job{
		{ID: "Test-1-g1-virtualbox", VMName: "Test-1", Version: "1.0.0", Providers: []string{"aws", "virtualbox"}, CacheKey: "k1",
			Folders: []string{"artifacts/1.0.0/Test-1/aws", "artifacts/1.0.0/Test-1/virtualbox"}},
		{ID: "Test-1-g2-kvm", VMName: "Test-1", Version: "1.0.0", Providers: []string{"gcp"}, CacheKey: "k2",
			Folders: []string{"artifacts/1.0.0/Test-1/gcp"}},
	}}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	return p
}

// jobFolder writes one provider folder as a build job leaves it: its files,
// a hidden cache file and a SHA256SUM in coreutils format.
func jobFolder(t *testing.T, incoming, job, rel string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(incoming, job, filepath.FromSlash(rel))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var entries []checksum.Entry
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(content))
		entries = append(entries, checksum.Entry{Name: name, SHA256: hex.EncodeToString(sum[:])})
	}
	if err := os.WriteFile(filepath.Join(dir, ".cache.made"), []byte("hidden"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, checksum.FileName), checksum.Format(entries), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func manifest(t *testing.T, incoming string, j plan.Job) {
	t.Helper()
	data, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(incoming, j.ID, plan.ManifestFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sha256sumCheck runs coreutils' `sha256sum -c SHA256SUM` in dir.
func sha256sumCheck(t *testing.T, dir string) error {
	t.Helper()
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Fatalf("this test needs sha256sum (coreutils) in PATH: %v", err)
	}
	return run.Run(context.Background(), run.Cmd{Name: "sha256sum", Args: []string{"-c", "--quiet", checksum.FileName}, Dir: dir, Timeout: time.Minute})
}

func TestAssembleRefusesTheTamperedJobsFolderAndPlacesTheOthers(t *testing.T) {
	p := twoJobs(t)
	root, incoming := t.TempDir(), t.TempDir()
	aws := jobFolder(t, incoming, "Test-1-g1-virtualbox", "artifacts/1.0.0/Test-1/aws", map[string]string{"Test-1-1.0.0_aws.ova": "ova"})
	vbox := jobFolder(t, incoming, "Test-1-g1-virtualbox", "artifacts/1.0.0/Test-1/virtualbox", map[string]string{"Test-1-1.0.0_virtualbox.box": "box"})
	gcp := jobFolder(t, incoming, "Test-1-g2-kvm", "artifacts/1.0.0/Test-1/gcp", map[string]string{"Test-1-1.0.0_gcp.tar.gz": "disk"})
	manifest(t, incoming, p.Jobs[0])
	manifest(t, incoming, p.Jobs[1])
	// The tampering: one byte of the gcp image changes in transit.
	if err := os.WriteFile(filepath.Join(gcp, "Test-1-1.0.0_gcp.tar.gz"), []byte("Disk"), 0o644); err != nil {
		t.Fatal(err)
	}
	for dir, ok := range map[string]bool{aws: true, vbox: true, gcp: false} {
		if err := sha256sumCheck(t, dir); (err == nil) != ok {
			t.Fatalf("sha256sum -c in %s: %v, want ok=%v (the test's folders are wrong)", dir, err, ok)
		}
	}

	var out strings.Builder
	folders, err := Assemble(context.Background(), root, incoming, p, Options{Out: &out})
	if err == nil || !strings.Contains(err.Error(), `"artifacts/1.0.0/Test-1/gcp" from job "Test-1-g2-kvm": refused`) || !strings.Contains(err.Error(), "checksum differs") {
		t.Fatalf("err = %v, want the gcp folder refused for its checksum", err)
	}
	want := map[string]Status{"artifacts/1.0.0/Test-1/aws": Placed, "artifacts/1.0.0/Test-1/virtualbox": Placed, "artifacts/1.0.0/Test-1/gcp": Refused}
	if len(folders) != len(want) {
		t.Fatalf("folders = %v, want %d", folders, len(want))
	}
	for _, f := range folders {
		if f.Status != want[f.Rel] {
			t.Errorf("%s: %s, want %s", f.Rel, f.Status, want[f.Rel])
		}
	}
	if _, err := os.Stat(filepath.Join(root, "artifacts/1.0.0/Test-1/gcp")); !os.IsNotExist(err) {
		t.Errorf("the refused folder reached the tree: %v", err)
	}
	for _, provider := range []string{"aws", "virtualbox"} {
		dir := filepath.Join(root, "artifacts/1.0.0/Test-1", provider)
		if err := sha256sumCheck(t, dir); err != nil {
			t.Errorf("sha256sum -c in the placed %s folder: %v", provider, err)
		}
		if _, err := os.Stat(filepath.Join(dir, ".cache.made")); !os.IsNotExist(err) {
			t.Errorf("a hidden file that SHA256SUM does not cover was placed in %s", dir)
		}
		if _, current, err := checksum.ReadFolder(dir); err != nil || !current {
			t.Errorf("the placed %s folder's SHA256SUM is not current (current=%v, err=%v)", provider, current, err)
		}
	}
	for _, line := range []string{
		"assemble: artifacts/1.0.0/Test-1/aws from job Test-1-g1-virtualbox: placed",
		"assemble: 2 folder(s) placed, 0 already in place, 1 refused",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output does not say %q:\n%s", line, out.String())
		}
	}
}

func TestAssembleRefusesWhatItCannotTrust(t *testing.T) {
	const aws = "artifacts/1.0.0/Test-1/aws"
	tests := []struct {
		name     string
		withPlan bool
		setup    func(t *testing.T, root, incoming string, p *plan.Plan)
		want     string // in the error; empty: no error
		placed   bool   // whether root holds aws afterwards with "ova"
	}{
		{"a folder arriving twice with different content", false, func(t *testing.T, root, incoming string, p *plan.Plan) {
			jobFolder(t, incoming, "a", aws, map[string]string{"x.ova": "ova"})
			jobFolder(t, incoming, "b", aws, map[string]string{"x.ova": "other"})
		}, "with different content", false},
		{"a folder arriving twice with the same content", false, func(t *testing.T, root, incoming string, p *plan.Plan) {
			jobFolder(t, incoming, "a", aws, map[string]string{"x.ova": "ova"})
			jobFolder(t, incoming, "b", aws, map[string]string{"x.ova": "ova"})
		}, "", true},
		{"a folder its job was not planned to write", true, func(t *testing.T, root, incoming string, p *plan.Plan) {
			jobFolder(t, incoming, "Test-1-g2-kvm", aws, map[string]string{"x.ova": "ova"})
		}, "the plan does not have job Test-1-g2-kvm write it (job Test-1-g1-virtualbox does)", false},
		{"a job the plan does not have", true, func(t *testing.T, root, incoming string, p *plan.Plan) {
			jobFolder(t, incoming, "Intruder", aws, map[string]string{"x.ova": "ova"})
		}, `"Intruder" is no job of the plan`, false},
		{"a job built from other inputs than planned", true, func(t *testing.T, root, incoming string, p *plan.Plan) {
			jobFolder(t, incoming, "Test-1-g1-virtualbox", aws, map[string]string{"x.ova": "ova"})
			j := p.Jobs[0]
			j.CacheKey = "stale"
			manifest(t, incoming, j)
		}, `cache key "stale"`, false},
		{"a file SHA256SUM does not list", false, func(t *testing.T, root, incoming string, p *plan.Plan) {
			dir := jobFolder(t, incoming, "a", aws, map[string]string{"x.ova": "ova"})
			if err := os.WriteFile(filepath.Join(dir, "extra"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not listed in SHA256SUM", false},
		{"a folder without SHA256SUM", false, func(t *testing.T, root, incoming string, p *plan.Plan) {
			dir := jobFolder(t, incoming, "a", aws, map[string]string{"x.ova": "ova"})
			if err := os.Remove(filepath.Join(dir, checksum.FileName)); err != nil {
				t.Fatal(err)
			}
		}, "missing", false},
		{"a link listed with the digest of what it points to", false, func(t *testing.T, root, incoming string, p *plan.Plan) {
			outside := filepath.Join(t.TempDir(), "shadow")
			dir := jobFolder(t, incoming, "a", aws, map[string]string{"x.ova": "ova", "x.box": "box"})
			if err := os.WriteFile(outside, []byte("box"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, "x.box")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(dir, "x.box")); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file", false},
		{"a vm_name folder with a line break", false, func(t *testing.T, root, incoming string, p *plan.Plan) {
			jobFolder(t, incoming, "a", aws, map[string]string{"x.ova": "ova"})
			jobFolder(t, incoming, "a", "artifacts/1.0.0/evil\nname/aws", map[string]string{"x.ova": "ova"})
		}, `got "evil\nname"`, false},
		{"a folder that differs from the one in place", false, func(t *testing.T, root, incoming string, p *plan.Plan) {
			jobFolder(t, root, ".", aws, map[string]string{"x.ova": "old"})
			jobFolder(t, incoming, "a", aws, map[string]string{"x.ova": "ova"})
		}, "already holds other content", false},
		{"the same folder already in place", false, func(t *testing.T, root, incoming string, p *plan.Plan) {
			jobFolder(t, root, ".", aws, map[string]string{"x.ova": "ova"})
			jobFolder(t, incoming, "a", aws, map[string]string{"x.ova": "ova"})
		}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, incoming := t.TempDir(), t.TempDir()
			p := twoJobs(t)
			tt.setup(t, root, incoming, p)
			var pp *plan.Plan
			if tt.withPlan {
				pp = p
			}
			_, err := Assemble(context.Background(), root, incoming, pp, Options{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
			got, readErr := os.ReadFile(filepath.Join(root, aws, "x.ova"))
			if placed := readErr == nil && string(got) == "ova"; placed != tt.placed {
				t.Errorf("aws placed with the arriving content = %v, want %v (%q, %v)", placed, tt.placed, got, readErr)
			}
		})
	}
}

// TestAFolderThatFailsToBePlacedStaysWhereItArrivedForTheReRun: files move
// one by one into a temporary folder renamed into place at the end; when
// that fails, they go back, so the folder still verifies and a re-run
// places it.
func TestAFolderThatFailsToBePlacedStaysWhereItArrivedForTheReRun(t *testing.T) {
	p := twoJobs(t)
	root, incoming := t.TempDir(), t.TempDir()
	const rel = "artifacts/1.0.0/Test-1/gcp"
	arrived := jobFolder(t, incoming, "Test-1-g2-kvm", rel, map[string]string{"Test-1-1.0.0_gcp.tar.gz": "disk", "manifest.json": "{}"})
	dest := filepath.Join(root, filepath.FromSlash(rel))
	defer func() { rename = os.Rename }()
	rename = func(src, dst string) error {
		if dst == dest {
			return &os.LinkError{Op: "rename", Old: src, New: dst, Err: errors.New("injected failure")}
		}
		return os.Rename(src, dst)
	}
	if _, err := Assemble(context.Background(), root, incoming, p, Options{}); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	if err := sha256sumCheck(t, arrived); err != nil {
		t.Fatalf("after the failed placing the arrived folder no longer verifies: %v", err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("the failed placing left %s: %v", dest, err)
	}
	rename = os.Rename
	folders, err := Assemble(context.Background(), root, incoming, p, Options{})
	if err != nil || len(folders) != 1 || folders[0].Status != Placed {
		t.Fatalf("re-run: %v, %v; want the folder placed", folders, err)
	}
	if err := sha256sumCheck(t, dest); err != nil {
		t.Errorf("sha256sum -c in the placed folder: %v", err)
	}
}

func TestWithAKeyAFolderWhoseSignatureFailsIsRefusedAndTheSignatureTravelsWithTheOthers(t *testing.T) {
	p := twoJobs(t)
	root, incoming := t.TempDir(), t.TempDir()
	key, err := pgpkey.Generate("test", "", pgpkey.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	keys := sign.Keys{PGP: key}
	signed := func(dir string) {
		data, _ := os.ReadFile(filepath.Join(dir, checksum.FileName))
		sig, err := key.Sign(data)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, checksum.SignatureFile), sig, 0o644)
	}
	aws := jobFolder(t, incoming, "Test-1-g1-virtualbox", "artifacts/1.0.0/Test-1/aws", map[string]string{"Test-1-1.0.0_aws.ova": "ova"})
	signed(aws)
	// The virtualbox folder is swapped whole in transit: new files, a
	// SHA256SUM that matches them, the old signature.
	vbox := jobFolder(t, incoming, "Test-1-g1-virtualbox", "artifacts/1.0.0/Test-1/virtualbox", map[string]string{"Test-1-1.0.0_virtualbox.box": "box"})
	signed(vbox)
	jobFolder(t, incoming, "Test-1-g1-virtualbox", "artifacts/1.0.0/Test-1/virtualbox", map[string]string{"Test-1-1.0.0_virtualbox.box": "evil box"})
	// The gcp folder arrives unsigned.
	jobFolder(t, incoming, "Test-1-g2-kvm", "artifacts/1.0.0/Test-1/gcp", map[string]string{"Test-1-1.0.0_gcp.tar.gz": "disk"})

	check := func(dir string) error { return release.CheckSignature(dir, keys) }
	folders, err := Assemble(context.Background(), root, incoming, p, Options{CheckFolder: check})
	for _, want := range []string{
		`"artifacts/1.0.0/Test-1/virtualbox" from job "Test-1-g1-virtualbox": refused: ` + filepath.Join(vbox, checksum.SignatureFile) + ": SHA256SUM changed since it was signed",
		`"artifacts/1.0.0/Test-1/gcp" from job "Test-1-g2-kvm": refused: ` + filepath.Join(incoming, "Test-1-g2-kvm/artifacts/1.0.0/Test-1/gcp", checksum.SignatureFile) + ": missing",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
	placed := 0
	for _, f := range folders {
		if f.Status == Placed {
			placed++
		}
	}
	dest := filepath.Join(root, "artifacts/1.0.0/Test-1/aws")
	if placed != 1 || release.CheckSignature(dest, keys) != nil {
		t.Errorf("placed %d folder(s), the aws folder's signature in place: %v; want the aws folder placed with its signature", placed, release.CheckSignature(dest, keys))
	}
}
