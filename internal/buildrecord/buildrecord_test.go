package buildrecord

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/tree"
)

// secrets are values that must never reach a record.
var secrets = []string{"hunter2-root-password", "s4ltvalue", "portal-p4ss", "ks-p4ss", "aws-user", "signed-t0ken"}

// testConfig is a build whose settings carry every kind of secret: root
// password and salt, credentials in the ISO URL of a site override and of
// the OS definition, a signed download link's token, and credentials in
// the ks_server URL.
func testConfig(t *testing.T) *config.Config {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{"templates/packer/build.pkr.hcl", "ansible/site.yml", "scripts/zero.sh"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), []byte(f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	site := config.Defaults()
	site.RootPass, site.RootSalt = secrets[0], secrets[1]
	site.KSServer = "http://builder:" + secrets[3] + "@ks.example:8080"
	site.OSOverrides = map[string]config.OSOverride{"RedHat-7.9": {ISOURL: config.StringList{"https://" + secrets[4] + ":" + secrets[2] + "@portal.example/rhel.iso",
		"https://cdn.portal.example/rhel.iso?_auth_=" + secrets[5] + "&user=" + secrets[4]}}}
	return &config.Config{Root: root, Site: site, OS: config.OS{
		VMName: "RedHat-7.9", OSName: "RedHat", OSVersion: "7.9", ISO: "rhel-server-7.9-x86_64-dvd",
		ISOChecksum: strings.Repeat("ab", 32), ISOURL: config.StringList{"https://" + secrets[4] + ":" + secrets[2] + "@portal.example/rhel.iso"},
	}}
}

// artifactFolder makes the provider folder of cfg's build with one artifact.
func artifactFolder(t *testing.T, cfg *config.Config, provider string) string {
	t.Helper()
	dir := filepath.Join(cfg.Root, cfg.Tree().ArtifactDir(provider))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, cfg.Tree().ArtifactName(provider, "qcow2")), []byte("disk"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func inputs(cfg *config.Config, started time.Time) Inputs {
	return Inputs{Config: cfg, Provider: "openstack", PackerVersion: "1.9.4", ISOCache: filepath.Join(cfg.Root, "isos"),
		KickstartSHA256: strings.Repeat("cd", 32), Started: started, Finished: started.Add(time.Hour)}
}

func TestNoSecretAppearsInTheRecord(t *testing.T) {
	cfg := testConfig(t)
	dir := artifactFolder(t, cfg, "openstack")
	path, _, err := Write(t.Context(), inputs(cfg, time.Now()), dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(data), s) {
			t.Errorf("the record holds the secret %q:\n%s", s, data)
		}
	}
	for _, want := range []string{`"root_pass": "REDACTED"`, `"root_salt": "REDACTED"`, "https://REDACTED@portal.example/rhel.iso", "http://REDACTED@ks.example:8080", "rhel.iso?_auth_=REDACTED"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the record does not say %s:\n%s", want, data)
		}
	}
}

func TestTheSameInputsGiveTheSameRecordApartFromTheTimes(t *testing.T) {
	cfg := testConfig(t)
	dir := artifactFolder(t, cfg, "openstack")
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, err := Make(t.Context(), inputs(cfg, first), dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Make(t.Context(), inputs(cfg, first.Add(48*time.Hour)), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !SameApartFromTimes(a, b) {
		x, _ := Marshal(a)
		y, _ := Marshal(b)
		t.Errorf("two records of the same inputs differ:\n%s\n%s", x, y)
	}
	if a.Started.Equal(b.Started) {
		t.Error("the start times are the same; the comparison proves nothing")
	}

	path, wrote, err := Write(t.Context(), inputs(cfg, first), dir)
	if err != nil || !wrote {
		t.Fatalf("first write: wrote %v, %v", wrote, err)
	}
	if _, wrote, err := Write(t.Context(), inputs(cfg, first.Add(time.Hour)), dir); err != nil || wrote {
		t.Errorf("a record differing only in times: wrote %v, %v; want it kept", wrote, err)
	}
	if r, _ := Read(path); !r.Started.Equal(first) {
		t.Errorf("the kept record starts at %s, want %s", r.Started, first)
	}
	for name, change := range map[string]func(){
		"an artifact changed": func() {
			os.WriteFile(filepath.Join(dir, cfg.Tree().ArtifactName("openstack", "qcow2")), []byte("other disk"), 0o644)
		},
		"a playbook changed":         func() { os.WriteFile(filepath.Join(cfg.Root, "ansible", "site.yml"), []byte("changed\n"), 0o644) },
		"the Packer version changed": func() {},
	} {
		change()
		in := inputs(cfg, first)
		if name == "the Packer version changed" {
			in.PackerVersion = "1.9.5"
		}
		if _, wrote, err := Write(t.Context(), in, dir); err != nil || !wrote {
			t.Errorf("%s: wrote %v, %v; want the record written", name, wrote, err)
		}
	}
}

func TestArtifactsCarryTheirSizeAndSHA256AndTheRecordTheKickstartOfTheRunThatServedIt(t *testing.T) {
	cfg := testConfig(t)
	dir := artifactFolder(t, cfg, "openstack")
	disk := filepath.Join(dir, cfg.Tree().ArtifactName("openstack", "qcow2"))
	// convert's record with a sha256 is taken as it is (not hashed again).
	box := filepath.Join(dir, cfg.Tree().ArtifactName("openstack", "box"))
	os.WriteFile(box, []byte("box"), 0o644)
	if err := tree.WriteMade(box, strings.Repeat("0", 64)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "SHA256SUM"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("x"), 0o644)
	path, _, err := Write(t.Context(), inputs(cfg, time.Now()), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Name: filepath.Base(box), Size: 3, SHA256: strings.Repeat("0", 64)},
		{Name: filepath.Base(disk), Size: 4, SHA256: sha("disk")},
	}
	if len(r.Artifacts) != 2 || r.Artifacts[0] != want[0] || r.Artifacts[1] != want[1] {
		t.Errorf("artifacts %+v\nwant %+v", r.Artifacts, want)
	}

	// An up-to-date run serves no kickstart: the record keeps the one of
	// the run that made the artifacts.
	in := inputs(cfg, time.Now())
	in.KickstartSHA256 = ""
	if _, _, err := Write(t.Context(), in, dir); err != nil {
		t.Fatal(err)
	}
	if r2, _ := Read(path); r2.Kickstart.SHA256 != r.Kickstart.SHA256 || r2.Kickstart.SHA256 == "" {
		t.Errorf("kickstart sha256 %q after an up-to-date run, want %q kept", r2.Kickstart.SHA256, r.Kickstart.SHA256)
	}
}

func TestTheCommitIsUnknownOutsideAGitCheckoutAndDirtyIsSaid(t *testing.T) {
	cfg := testConfig(t)
	dir := artifactFolder(t, cfg, "openstack")
	r, err := Make(t.Context(), inputs(cfg, time.Now()), dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Source != (Source{Commit: Unknown, Dirty: Unknown}) {
		t.Errorf("outside git: %+v, want unknown", r.Source)
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = cfg.Root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", args, err, out)
		}
	}
	os.WriteFile(filepath.Join(cfg.Root, ".gitignore"), []byte("artifacts/\n"), 0o644)
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "x")
	r, _ = Make(t.Context(), inputs(cfg, time.Now()), dir)
	if len(r.Source.Commit) != 40 || r.Source.Dirty != "no" {
		t.Errorf("clean checkout: %+v, want a commit and dirty no", r.Source)
	}
	os.WriteFile(filepath.Join(cfg.Root, "ansible", "site.yml"), []byte("edited\n"), 0o644)
	r, _ = Make(t.Context(), inputs(cfg, time.Now()), dir)
	if r.Source.Dirty != "yes" {
		t.Errorf("edited checkout: %+v, want dirty yes", r.Source)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestARewrittenRecordIsTakenIntoAnExistingSHA256SUM(t *testing.T) {
	cfg := testConfig(t)
	dir := artifactFolder(t, cfg, "openstack")
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := Write(t.Context(), inputs(cfg, first), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := checksum.WriteTree(t.Context(), filepath.Join(cfg.Root, "artifacts"), nil); err != nil {
		t.Fatal(err)
	}
	in := inputs(cfg, first.Add(time.Hour))
	in.PackerVersion = "1.9.5" // a FORCE=1 rebuild with another Packer: a new record
	if _, wrote, err := Write(t.Context(), in, dir); err != nil || !wrote {
		t.Fatalf("second write: wrote %v, %v", wrote, err)
	}
	if _, err := checksum.WriteTree(t.Context(), filepath.Join(cfg.Root, "artifacts"), nil); err != nil {
		t.Errorf("SHA256SUM after the build rewrote its record: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := checksum.WriteTree(t.Context(), filepath.Join(cfg.Root, "artifacts"), nil); err == nil || !strings.Contains(err.Error(), "changed since") {
		t.Errorf("SHA256SUM after the record was edited by hand: %v, want it refused", err)
	}
}

func TestTheRecordSaysNothingOfWhereTheSiteKeepsItsSigningKeys(t *testing.T) {
	cfg := testConfig(t)
	dir := artifactFolder(t, cfg, "openstack")
	cfg.Site.Signing = config.Signing{GPGKey: "/srv/keys/release.asc", CosignKey: "/srv/keys/cosign.key", CosignPassword: "pw"}
	r, err := Make(t.Context(), inputs(cfg, time.Now()), dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(r.Site), "signing") || strings.Contains(string(r.Site), "/srv/keys") {
		t.Errorf("the record's site settings name the signing keys: %s", r.Site)
	}
}
