package buildrecord

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/config"
)

// A bootstrap family's record says how it was bootstrapped, with the
// password of an archive's URL redacted, and claims no ISO, kickstart,
// Packer or Ansible.
func TestABootstrapRecordNamesTheToolAndArchivesAndNoISO(t *testing.T) {
	cfg := testConfig(t)
	cfg.OS = config.OS{VMName: "Debian-12", OSName: "Debian", OSVersion: "12", Family: "debian12", Suite: "bookworm"}
	cfg.Site.KSServer = ""
	cfg.Site.DebianMirror = "https://mirror:" + secrets[2] + "@debian.example/debian"
	dir := artifactFolder(t, cfg, "openstack")
	in := inputs(cfg, time.Now())
	in.KickstartSHA256, in.PackerVersion, in.BootstrapTool = "", "", "mmdebstrap 1.3.5"
	path, _, err := Write(context.Background(), in, dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]json.RawMessage
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"iso", "kickstart", "packer", "ansible"} {
		if _, ok := r[key]; ok {
			t.Errorf("%s has %q: %s", filepath.Base(path), key, r[key])
		}
	}
	b := string(r["bootstrap"])
	for _, want := range []string{`"tool":"mmdebstrap 1.3.5"`, `"suite":"bookworm"`, `debian.example/debian`, `"security_mirror":"http://deb.debian.org/debian-security"`, `"scripts_sha256":"`} {
		if !strings.Contains(strings.ReplaceAll(b, " ", ""), strings.ReplaceAll(want, " ", "")) {
			t.Errorf("bootstrap %s lacks %s", b, want)
		}
	}
	if strings.Contains(string(data), secrets[2]) {
		t.Errorf("the record holds the archive's password:\n%s", data)
	}
}
