package config

import (
	"strings"
	"testing"
)

// A bootstrap family's definition has a suite and none of an ISO's fields;
// the site's ISO and package servers, which are EL's, stay out of it, and
// DEBIAN_MIRROR overrides the site's archive.
func TestABootstrapDefinitionTakesASuiteAndNoISO(t *testing.T) {
	const site = `{"iso_server": "https://mirror.example.org/el", "repo_server": "https://mirror.example.org/el", "debian_mirror": "http://debian.example.org/debian"}`
	root := testRoot(t, site, map[string]string{
		"Deb-12": `{"vm_name": "Deb-12", "os_name": "Debian", "os_version": "12", "os_family": "debian12", "iso": "debian-12", "iso_server": "https://x.example.org"}`,
		"Bad-12": `{"vm_name": "Bad-12", "os_name": "Debian", "os_version": "12", "os_family": "debian12", "suite": "Bookworm/"}`,
	})

	cfg, err := Load(root, "Debian-12", envOf("DEBIAN_SECURITY_MIRROR", "https://security.example.org/debian-security"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS.Installer() != Bootstrap || cfg.OS.Suite != "bookworm" {
		t.Errorf("Debian-12: installer %q, suite %q, want bootstrap and bookworm", cfg.OS.Installer(), cfg.OS.Suite)
	}
	if len(cfg.OS.ISOServer) != 0 || cfg.OS.RepoServer != "" {
		t.Errorf("Debian-12 took the site's EL servers: iso_server %v, repo_server %q", cfg.OS.ISOServer, cfg.OS.RepoServer)
	}
	if cfg.Site.DebianMirror != "http://debian.example.org/debian" || cfg.Site.DebianSecurityMirror != "https://security.example.org/debian-security" {
		t.Errorf("mirrors %q and %q, want the site's and the environment's", cfg.Site.DebianMirror, cfg.Site.DebianSecurityMirror)
	}

	for name, want := range map[string][]string{
		"Deb-12": {`field "iso": family "debian12" is bootstrapped`, `field "iso_server": family "debian12" is bootstrapped`, `field "suite": want the release's suite`},
		"Bad-12": {`field "suite": want the release's suite such as bookworm`, `got "Bookworm/"`},
	} {
		_, err := Load(root, name, noEnv, Options{})
		if err == nil {
			t.Errorf("%s loaded, want an error", name)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", name, err, w)
			}
		}
	}

	for _, bad := range []string{"ftp://x", "https://user:s3cret@mirror.example/debian"} {
		_, err := Load(root, "Debian-12", envOf("DEBIAN_MIRROR", bad), Options{})
		if err == nil || !strings.Contains(err.Error(), "DEBIAN_MIRROR") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("DEBIAN_MIRROR=%s: got %v, want an error naming the variable, without the password", bad, err)
		}
	}
}
