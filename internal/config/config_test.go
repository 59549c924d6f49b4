package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gold-standard-images/internal/golden"
)

// testRoot makes a repository root holding the shipped OS definitions, an
// optional site.json and extra OS definitions.
func testRoot(t *testing.T, site string, extraOS map[string]string) string {
	t.Helper()
	root := t.TempDir()
	osDir := filepath.Join(root, OSDir)
	if err := os.MkdirAll(osDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shipped, err := filepath.Glob(filepath.Join("..", "..", OSDir, "*.json"))
	if err != nil || len(shipped) == 0 {
		t.Fatalf("no shipped OS definitions found: %v", err)
	}
	for _, f := range shipped {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(osDir, filepath.Base(f)), data, 0o644)
	}
	for name, body := range extraOS {
		writeFile(t, filepath.Join(osDir, name+".json"), []byte(body), 0o644)
	}
	if site != "" {
		writeFile(t, filepath.Join(root, SiteFile), []byte(site), 0o600)
	}
	return root
}

func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

func noEnv(string) string { return "" }

func envOf(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

const goodOS = `{
  "vm_name": "Test-1.0",
  "os_name": "CentOS",
  "os_version": "7.9.2009",
  "iso": "CentOS-7-x86_64-Minimal-2009",
  "iso_checksum": "07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a",
  "iso_server": "https://vault.centos.org",
  "repo_server": "https://vault.centos.org"
}
`

func TestLoadWithoutSiteFileUsesDefaults(t *testing.T) {
	root := testRoot(t, "", nil)
	cfg, err := Load(root, "CentOS-7.9.2009", noEnv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Site.Version != "1.0.0" || cfg.Site.Namespace != "gold" || !cfg.Site.Headless || cfg.Site.DiskSize != 20480 {
		t.Errorf("defaults not applied: %+v", cfg.Site)
	}
	if got, want := cfg.OS.ISOURLs(), []string{"https://vault.centos.org/7.9.2009/isos/x86_64/CentOS-7-x86_64-Minimal-2009.iso"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("ISOURLs() = %q, want %q", got, want)
	}
	if got, want := cfg.OS.RepoURL(), "https://vault.centos.org/7.9.2009/os/x86_64"; got != want {
		t.Errorf("RepoURL() = %q, want %q", got, want)
	}
	if got, want := cfg.Tree().ArtifactDir("gcp"), filepath.Join("artifacts", "1.0.0", "CentOS-7.9.2009", "gcp"); got != want {
		t.Errorf("ArtifactDir = %q, want %q", got, want)
	}
	if got, want := cfg.Tree().ArtifactName("gcp", "tar.gz"), "CentOS-7.9.2009-1.0.0_gcp.tar.gz"; got != want {
		t.Errorf("ArtifactName = %q, want %q", got, want)
	}
	if !strings.HasPrefix(cfg.RootPasswordHash(), "$6$") {
		t.Errorf("root hash %q is not SHA-512 crypt", cfg.RootPasswordHash())
	}
}

func TestShippedDefinitionsLoad(t *testing.T) {
	root := testRoot(t, "", nil)
	names, err := Available(root)
	if err != nil {
		t.Fatal(err)
	}
	// vm_name -> family, BaseOS (or EL 7's os) tree, AppStream tree.
	want := map[string][3]string{
		"AlmaLinux-9.6":    {"rhel9", "https://repo.almalinux.org/almalinux/9.6/BaseOS/x86_64/os", "https://repo.almalinux.org/almalinux/9.6/AppStream/x86_64/os"},
		"AlmaLinux-10.1":   {"rhel9", "https://repo.almalinux.org/almalinux/10.1/BaseOS/x86_64/os", "https://repo.almalinux.org/almalinux/10.1/AppStream/x86_64/os"},
		"CentOS-7.6.1810":  {"rhel7", "https://vault.centos.org/7.6.1810/os/x86_64", ""},
		"CentOS-7.9.2009":  {"rhel7", "https://vault.centos.org/7.9.2009/os/x86_64", ""},
		"CentOS-Stream-9":  {"rhel9", "https://mirror.stream.centos.org/9-stream/BaseOS/x86_64/os", "https://mirror.stream.centos.org/9-stream/AppStream/x86_64/os"},
		"CentOS-Stream-10": {"rhel9", "https://mirror.stream.centos.org/10-stream/BaseOS/x86_64/os", "https://mirror.stream.centos.org/10-stream/AppStream/x86_64/os"},
		"RedHat-7.9":       {"rhel7", "", ""},
		"RedHat-8.10":      {"rhel8", "", ""},
		"RedHat-9.6":       {"rhel9", "", ""},
		"RedHat-10.0":      {"rhel9", "", ""},
		"Rocky-8.10":       {"rhel8", "https://dl.rockylinux.org/pub/rocky/8.10/BaseOS/x86_64/os", "https://dl.rockylinux.org/pub/rocky/8.10/AppStream/x86_64/os"},
		"Rocky-9.6":        {"rhel9", "https://dl.rockylinux.org/vault/rocky/9.6/BaseOS/x86_64/os", "https://dl.rockylinux.org/vault/rocky/9.6/AppStream/x86_64/os"},
		"Rocky-10.1":       {"rhel9", "https://dl.rockylinux.org/pub/rocky/10.1/BaseOS/x86_64/os", "https://dl.rockylinux.org/pub/rocky/10.1/AppStream/x86_64/os"},
		"Debian-12":        {"debian12", "", ""},
	}
	if len(names) != len(want) {
		t.Errorf("shipped definitions = %v, want the %d of this test", names, len(want))
	}
	for _, name := range names {
		cfg, err := Load(root, name, noEnv, Options{AllowMissingISO: true})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got := [3]string{cfg.OS.Family, cfg.OS.RepoURL(), cfg.OS.AppStreamURL()}
		if got != want[name] {
			t.Errorf("%s: family, BaseOS, AppStream = %q, want %q", name, got, want[name])
		}
		if cfg.Firmware() != BIOS {
			t.Errorf("%s: firmware %q, want the default bios", name, cfg.Firmware())
		}
	}
}

// Without iso_checksum, a signed checksum file and its key stand in: the
// sha256 is taken from it when the ISO is fetched.
func TestAChecksumFromTheSignedFileNeedsNoISOChecksum(t *testing.T) {
	signed := strings.Replace(goodOS, `"07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a"`, `"", "iso_checksum_file": "CHECKSUM", "iso_signing_key": "templates/gpg/RPM-GPG-KEY-Rocky-10", "iso_signing_key_fingerprint": "55AF 04D9 A30C 2ADD DC22 85DD D8BE 58F9 45A8 B0F7"`, 1)
	cfg, err := Load(testRoot(t, "", map[string]string{"Test-1.0": signed}), "Test-1.0", noEnv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS.ISOChecksum != "" || cfg.OS.ISOChecksumFile != "CHECKSUM" {
		t.Errorf("iso_checksum %q, iso_checksum_file %q", cfg.OS.ISOChecksum, cfg.OS.ISOChecksumFile)
	}
}

// The firmware is the OS definition's, else the site's, else BIOS; a
// site's per-OS override wins over both.
func TestFirmwareComesFromTheDefinitionElseTheSite(t *testing.T) {
	uefiOS := strings.Replace(goodOS, `"vm_name": "Test-1.0",`, `"vm_name": "Test-1.0", "firmware": "uefi",`, 1)
	for _, c := range []struct {
		name, site, os string
		want           Firmware
	}{
		{"Default", "", goodOS, BIOS},
		{"Site", `{"firmware": "uefi"}`, goodOS, UEFI},
		{"Definition", `{"firmware": "bios"}`, uefiOS, UEFI},
		{"SiteOverrideOfTheOS", `{"os": {"Test-1.0": {"firmware": "bios"}}}`, uefiOS, BIOS},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(testRoot(t, c.site, map[string]string{"Test-1.0": c.os}), "Test-1.0", noEnv, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Firmware() != c.want {
				t.Errorf("firmware %q, want %q", cfg.Firmware(), c.want)
			}
		})
	}
}

func TestSiteExampleLoadsAndDocumentsEveryField(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "templates", "site.json.example"))
	if err != nil {
		t.Fatal(err)
	}
	root := testRoot(t, string(example), nil)
	if _, err := Load(root, "CentOS-7.9.2009", noEnv, Options{}); err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(example, &keys); err != nil {
		t.Fatal(err)
	}
	var site Site
	for _, name := range fieldNames(site) {
		if _, ok := keys[name]; !ok {
			t.Errorf("field %q is missing from site.json.example", name)
		}
		if _, ok := keys["// "+name]; !ok {
			t.Errorf("field %q has no \"// %s\" comment in site.json.example", name, name)
		}
	}
}

func fieldNames(v any) []string {
	var names []string
	data, _ := json.Marshal(v)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(data, &m)
	for k := range m {
		names = append(names, k)
	}
	for _, k := range []string{"registry", "registry_insecure", "os", "iso_server", "repo_server"} { // omitempty fields
		if _, ok := m[k]; !ok {
			names = append(names, k)
		}
	}
	return names
}

func TestVersionFromEnvironmentOverridesSite(t *testing.T) {
	root := testRoot(t, `{"version": "2.0.0"}`, nil)
	cfg, err := Load(root, "CentOS-7.9.2009", envOf("VERSION", "3.1.4"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Site.Version != "3.1.4" {
		t.Errorf("version = %q, want 3.1.4 from VERSION", cfg.Site.Version)
	}
	for _, bad := range []string{"../x", "1.0+b", "1.0.0_1"} {
		_, err = Load(root, "CentOS-7.9.2009", envOf("VERSION", bad), Options{})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("environment variable VERSION=%q", bad)) {
			t.Errorf("bad VERSION %q: err = %v", bad, err)
		}
	}
	cfg, err = Load(root, "CentOS-7.9.2009", envOf("VERSION", "3.2.0-rc1"), Options{})
	if err != nil || cfg.Tree().ArtifactDir("gcp") != filepath.Join("artifacts", "3.2.0-rc1", "CentOS-7.9.2009", "gcp") {
		t.Errorf("pre-release VERSION: err = %v", err)
	}
}

func TestSiteOverrideSuppliesRHELISO(t *testing.T) {
	site := `{"os": {"RedHat-7.9": {"iso_url": "/srv/rhel.iso", "iso_checksum": "` + strings.Repeat("ab", 32) + `"}}}`
	cfg, err := Load(testRoot(t, site, nil), "RedHat-7.9", noEnv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.OS.ISOURLs(); len(got) != 1 || got[0] != "/srv/rhel.iso" {
		t.Errorf("ISOURLs() = %q", got)
	}
	if cfg.OS.RepoURL() != "" {
		t.Errorf("RHEL installs from the ISO, RepoURL() = %q", cfg.OS.RepoURL())
	}
}

// TestLoadReportsBadInput checks the exact messages of bad input against
// golden files: every problem at once, naming file, line and field.
func TestLoadReportsBadInput(t *testing.T) {
	cases := []struct {
		name   string
		site   string
		extra  map[string]string
		vmName string
	}{
		{name: "MalformedSiteJSON", site: "{\n  \"namespace\": \"gold\",\n  \"version\": 1.0.0\n}\n", vmName: "CentOS-7.9.2009"},
		{name: "UnknownFieldsWithSuggestions", site: "{\n  \"namspace\": \"gold\",\n  \"time_zone\": \"UTC\",\n  \"favourite_colour\": \"blue\"\n}\n", vmName: "CentOS-7.9.2009"},
		{name: "WrongTypes", site: "{\n  \"headless\": \"yes\",\n  \"disk_size\": \"20G\",\n  \"aws\": {\"bucket\": 7},\n  \"os\": {\"CentOS-7.9.2009\": {\"iso_server\": 3}}\n}\n", vmName: "CentOS-7.9.2009"},
		{name: "BadValues", site: "{\n  \"namespace\": \"Gold Images\",\n  \"version\": \"v1\",\n  \"disk_size\": 100,\n  \"lang\": \"\",\n  \"root_salt\": \"has spaces\",\n  \"ssh_timeout\": \"soon\",\n  \"ks_server\": \"ks.example.com\",\n  \"gcp_guest_repo\": \"ftp://mirror/yum\",\n  \"aws\": {\"import_role\": \"\"}\n}\n", vmName: "CentOS-7.9.2009"},
		{name: "NumberOutOfRange", site: "{\n  \"disk_size\": 1e400\n}\n", vmName: "CentOS-7.9.2009"},
		{name: "VersionVagrantRefuses", site: "{\n  \"version\": \"1.0+b\"\n}\n", vmName: "CentOS-7.9.2009"},
		{name: "UnknownOSOverride", site: "{\n  \"os\": {\n    \"CentOS-7.9.209\": {\"iso_server\": \"https://mirror.example.com\"},\n    \"Ubuntu-24.04\": {\"iso_server\": \"https://mirror.example.com\"}\n  }\n}\n", vmName: "CentOS-7.9.2009"},
		{name: "DuplicateField", site: "{\n  \"version\": \"1.0.0\",\n  \"version\": \"2.0.0\"\n}\n", vmName: "CentOS-7.9.2009"},
		{name: "BadOSDefinition", extra: map[string]string{"Broken-1": "{\n  \"vm_name\": \"Other\",\n  \"os_name\": \"\",\n  \"os_version\": \"seven\",\n  \"iso\": \"x/y.iso\",\n  \"iso_checksum\": \"abc\",\n  \"iso_sever\": \"https://example.com\",\n  \"iso_checksum_file\": \"sha256sum.txt.asc\"\n}\n"}, vmName: "Broken-1"},
		{name: "MalformedOSDefinition", extra: map[string]string{"Broken-2": "{\n  \"vm_name\": \"Broken-2\",\n  \"os_name\": \"CentOS\"\n  \"iso\": \"x\"\n}\n"}, vmName: "Broken-2"},
		{name: "ProblemsInBothFiles", site: "{\"disk_size\": -1}", extra: map[string]string{"Broken-3": goodOS}, vmName: "Broken-3"},
		{name: "UnknownVMName", vmName: "CentOS-7.9"},
		{name: "RHELWithoutSiteISO", vmName: "RedHat-7.9"},
		{name: "NotAnObject", site: "[1, 2]", vmName: "CentOS-7.9.2009"},
		{name: "BadSeedStrings", site: "{\n  \"headless\": \"yes\",\n  \"disk_size\": \"8 GB\",\n  \"cpus\": \"0\",\n  \"memory\": \"512\",\n  \"ssh_timeout\": \"10 minutes\",\n  \"vmware_sha\": \"md5\",\n  \"virtualbox_nat_localhost\": \"on\"\n}\n", vmName: "CentOS-7.9.2009"},
		{name: "VMwareSHAGivenAsASum", site: "{\n  \"disk_size\": \"100\",\n  \"vmware_sha\": \"" + strings.Repeat("ab", 32) + "\"\n}\n", vmName: "CentOS-7.9.2009"},
		{name: "UnknownFamilyAndFirmware", extra: map[string]string{"Rocky-9.4": strings.Replace(goodOS, `"vm_name": "Test-1.0",`, `"vm_name": "Rocky-9.4", "os_family": "rocky9", "firmware": "efi", "mirror_dir": "9/stream",`, 1)}, vmName: "Rocky-9.4"},
		{name: "FamilyOfAnotherRelease", extra: map[string]string{"Rocky-8.10": strings.Replace(goodOS, `"vm_name": "Test-1.0",`, `"vm_name": "Rocky-8.10", "os_family": "rhel9",`, 1)}, vmName: "Rocky-8.10"},
		{name: "NoFamilyServesTheRelease", extra: map[string]string{"Future-11.0": strings.Replace(strings.Replace(goodOS, `"vm_name": "Test-1.0",`, `"vm_name": "Future-11.0",`, 1), `"os_version": "7.9.2009"`, `"os_version": "11.0"`, 1)}, vmName: "Future-11.0"},
		{name: "NoChecksumAndNoSignedFile", extra: map[string]string{"Test-1.0": strings.Replace(goodOS, `"07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a"`, `""`, 1)}, vmName: "Test-1.0"},
		{name: "BadSiteFirmware", site: "{\n  \"firmware\": \"EFI\",\n  \"os\": {\"CentOS-7.9.2009\": {\"firmware\": \"coreboot\"}}\n}\n", vmName: "CentOS-7.9.2009"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := testRoot(t, tc.site, tc.extra)
			_, err := Load(root, tc.vmName, noEnv, Options{})
			if err == nil {
				t.Fatal("Load accepted bad input")
			}
			golden.Check(t, []byte(err.Error()+"\n"))
		})
	}
}

func TestSiteFileWithPasswordMustBePrivate(t *testing.T) {
	for _, site := range []string{`{"root_pass": "s3cret-Pa55"}`, `{"signing": {"cosign_key": "k", "cosign_password": "s3cret-Pa55"}}`} {
		root := testRoot(t, site, nil)
		if err := os.Chmod(filepath.Join(root, SiteFile), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(root, "CentOS-7.9.2009", noEnv, Options{})
		if err == nil || !strings.Contains(err.Error(), "chmod 600 templates/site.json") {
			t.Fatalf("%s: err = %v, want a chmod 600 hint", site, err)
		}
		if strings.Contains(err.Error(), "s3cret-Pa55") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

func TestTheCosignPasswordIsRedactedInTheEffectiveConfiguration(t *testing.T) {
	root := testRoot(t, `{"signing": {"cosign_key": "keys/cosign.key", "cosign_password": "s3cret-Pa55"}}`, nil)
	cfg, err := Load(root, "CentOS-7.9.2009", noEnv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(cfg.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cret-Pa55") || !strings.Contains(string(out), `"cosign_key":"keys/cosign.key"`) {
		t.Errorf("mage config prints %s", out)
	}
}

func TestSitePasswordIsHashedWithSiteSaltAndNeverShown(t *testing.T) {
	root := testRoot(t, `{"root_pass": "s3cret-Pa55", "root_salt": "abcdefgh12345678"}`, nil)
	cfg, err := Load(root, "CentOS-7.9.2009", noEnv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkHashedAndHidden(t, cfg, "s3cret-Pa55", "abcdefgh12345678")
}

func TestRandomRootPasswordDiffersPerLoad(t *testing.T) {
	root := testRoot(t, "", nil)
	a, err := Load(root, "CentOS-7.9.2009", noEnv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(root, "CentOS-7.9.2009", noEnv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.RootPasswordHash() == b.RootPasswordHash() {
		t.Error("two builds got the same random root password hash")
	}
}

func TestSHA512CryptMatchesSpecificationVectors(t *testing.T) {
	// Vectors from Ulrich Drepper's SHA-crypt specification (default rounds).
	cases := []struct{ password, salt, want string }{
		{"Hello world!", "saltstring", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	}
	for _, tc := range cases {
		if got := SHA512Crypt(tc.password, tc.salt); got != tc.want {
			t.Errorf("SHA512Crypt(%q, %q) = %q, want %q", tc.password, tc.salt, got, tc.want)
		}
	}
	// Long passwords and salts exercise the other branches; cross-check with openssl.
	for _, tc := range []struct{ password, salt string }{
		{strings.Repeat("long password ", 10), "0123456789abcdef"},
		{"x", "./ZZ"},
	} {
		out, err := exec.Command("openssl", "passwd", "-6", "-salt", tc.salt, tc.password).Output()
		if err != nil {
			t.Fatalf("openssl passwd: %v", err)
		}
		if got, want := SHA512Crypt(tc.password, tc.salt), strings.TrimSpace(string(out)); got != want {
			t.Errorf("SHA512Crypt(%q, %q) = %q, openssl says %q", tc.password, tc.salt, got, want)
		}
	}
}

// TestSeedSiteFileLoadsWithItsStringValues loads the original project's
// site file (testdata/seed-site.json.example, reconstructed from its field
// list: every value a string, as Packer user variables are) and checks that
// each string reaches its typed field and the password only as its hash.
func TestSeedSiteFileLoadsWithItsStringValues(t *testing.T) {
	seed, err := os.ReadFile(filepath.Join("testdata", "seed-site.json.example"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(testRoot(t, string(seed), nil), "CentOS-7.9.2009", noEnv, Options{})
	if err != nil {
		t.Fatalf("the seed's site file does not load: %v", err)
	}
	s := cfg.Site
	if !s.Headless || s.DiskSize != 8192 || s.SSHTimeout != "10m" || s.VMwareSHA != "sha256" || s.KSServer != "http://192.168.56.1:8080" {
		t.Errorf("seed values not taken: headless %v, disk_size %d, ssh_timeout %q, vmware_sha %q, ks_server %q", s.Headless, s.DiskSize, s.SSHTimeout, s.VMwareSHA, s.KSServer)
	}
	checkHashedAndHidden(t, cfg, "changeme", "Wd3kR9pX")
}

// TestTheOriginalsOwnSiteFileLoads loads the original project's real site
// file (testdata/original-site.json): the upper-case namespace is kept, and
// its site-wide iso_server and repo_server reach every OS definition (the
// site's mirror first, the definition's own servers after it), under the
// "os" section's values.
func TestTheOriginalsOwnSiteFileLoads(t *testing.T) {
	site, err := os.ReadFile(filepath.Join("testdata", "original-site.json"))
	if err != nil {
		t.Fatal(err)
	}
	root := testRoot(t, string(site), nil)
	cfg, err := Load(root, "CentOS-7.9.2009", noEnv, Options{})
	if err != nil {
		t.Fatalf("the original's site file does not load: %v", err)
	}
	if cfg.Site.Namespace != "TSI-CC" || cfg.Site.KSServer != "http://localhost:8080/" || cfg.Site.DiskSize != 8192 {
		t.Errorf("site = %+v", cfg.Site)
	}
	urls := cfg.OS.ISOURLs()
	if len(urls) < 2 || urls[0] != "http://mirror.site.example/centos/7.9.2009/isos/x86_64/CentOS-7-x86_64-Minimal-2009.iso" || !strings.HasPrefix(urls[1], "https://vault.centos.org/") {
		t.Errorf("ISOURLs() = %q, want the site's mirror first, then the definition's vault", urls)
	}
	if got := cfg.OS.RepoURL(); got != "http://mirror.site.example/centos/7.9.2009/os/x86_64" {
		t.Errorf("RepoURL() = %q, want the site's repo_server", got)
	}
	// Its salt is the word "salt", which the printed field names hold too:
	// the hash is checked (SHA512Crypt is checked against openssl below),
	// the password and hash must stay hidden.
	if want := SHA512Crypt("password", "salt"); cfg.RootPasswordHash() != want {
		t.Errorf("hash = %q, want %q", cfg.RootPasswordHash(), want)
	}
	if printed, _ := json.Marshal(cfg.Redacted()); strings.Contains(string(printed), `"password"`) || strings.Contains(string(printed), cfg.RootPasswordHash()) {
		t.Errorf("the redacted configuration shows the password or its hash: %s", printed)
	}

	withOS := strings.Replace(string(site), `"vmware_sha": "sha256"`, `"vmware_sha": "sha256", "os": {"CentOS-7.9.2009": {"iso_server": "https://other.example", "repo_server": "https://other.example/repo"}}`, 1)
	cfg, err = Load(testRoot(t, withOS, nil), "CentOS-7.9.2009", noEnv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if urls := cfg.OS.ISOURLs(); len(urls) != 1 || !strings.HasPrefix(urls[0], "https://other.example/") || cfg.OS.RepoServer != "https://other.example/repo" {
		t.Errorf("the \"os\" section must win: ISOURLs() = %q, repo_server %q", urls, cfg.OS.RepoServer)
	}

	bad := strings.Replace(string(site), `"http://mirror.site.example/centos",`, `"mirror.site.example",`, 2)
	_, err = Load(testRoot(t, bad, nil), "CentOS-7.9.2009", noEnv, Options{})
	for _, want := range []string{`line 6: field "iso_server": entry 1: want an http:// or https:// URL`, `line 7: field "repo_server": want an http:// or https:// URL`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
}

func TestStringAndTypedFormsGiveTheSameSettings(t *testing.T) {
	cases := []struct {
		name, site string
		check      func(Site) bool
	}{
		{"headless false as a string", `{"headless": "false"}`, func(s Site) bool { return !s.Headless }},
		{"headless false typed", `{"headless": false}`, func(s Site) bool { return !s.Headless }},
		{"disk_size as a string", `{"disk_size": "8192"}`, func(s Site) bool { return s.DiskSize == 8192 }},
		{"cpus and memory as strings", `{"cpus": "4", "memory": "4096"}`, func(s Site) bool { return s.CPUs == 4 && s.Memory == 4096 }},
		{"cpus and memory typed", `{"cpus": 4, "memory": 4096}`, func(s Site) bool { return s.CPUs == 4 && s.Memory == 4096 }},
		{"virtualbox_nat_localhost as a string", `{"virtualbox_nat_localhost": "false"}`, func(s Site) bool { return !s.VirtualBoxNATLocalhost }},
		{"vmware_sha sha512", `{"vmware_sha": "sha512"}`, func(s Site) bool { return s.VMwareSHA == "sha512" }},
		{"vmware_sha empty is sha256", `{"vmware_sha": ""}`, func(s Site) bool { return s.VMwareSHA == "sha256" }},
		{"one guest switch keeps the others' defaults", `{"guest": {"azure_agent_swap": "false"}}`, func(s Site) bool {
			return s.Guest == Guest{CloudInitDisableRoot: true, AzureAgentSwap: false, GCPNetworkIPv6: true}
		}},
		{"the original's guests", `{"guest": {"cloud_init_disable_root": false, "gcp_network_ipv6": false, "gcp_ssh_client_config": true}}`, func(s Site) bool {
			return s.Guest == Guest{CloudInitDisableRoot: false, AzureAgentSwap: true, GCPNetworkIPv6: false, GCPSSHClientConfig: true}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			site, _, err := LoadSite(testRoot(t, tc.site, nil), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(site) {
				t.Errorf("%s: got %+v", tc.site, site)
			}
		})
	}
}

// checkHashedAndHidden checks that cfg's root password hash is what
// `openssl passwd -6` makes of password and salt, and that none of the
// three shows in the configuration `mage config` prints.
func checkHashedAndHidden(t *testing.T, cfg *Config, password, salt string) {
	t.Helper()
	out, err := exec.Command("openssl", "passwd", "-6", "-salt", salt, password).Output()
	if err != nil {
		t.Fatalf("openssl passwd (package openssl) is needed to cross-check the hash: %v", err)
	}
	if want := strings.TrimSpace(string(out)); cfg.RootPasswordHash() != want {
		t.Errorf("hash = %q, openssl says %q", cfg.RootPasswordHash(), want)
	}
	printed, err := json.Marshal(cfg.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{password, cfg.RootPasswordHash(), salt} {
		if strings.Contains(string(printed), secret) {
			t.Errorf("redacted configuration contains %q: %s", secret, printed)
		}
	}
}

func TestImageNamesAreTheOriginalsUnlessShort(t *testing.T) {
	for _, tc := range []struct{ site, provider, want string }{
		{`{"version": "1.2.0"}`, "openstack", "CentOS-7.9.2009-1.2.0_openstack"},
		{`{"version": "1.2.0", "image_names": "original"}`, "azure", "CentOS-7.9.2009-1.2.0_azure"},
		{`{"version": "1.2.0", "image_names": "short"}`, "vmware", "CentOS-7.9.2009-1.2.0"},
	} {
		cfg, err := Load(testRoot(t, tc.site, nil), "CentOS-7.9.2009", noEnv, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.ImageName(tc.provider); got != tc.want {
			t.Errorf("%s: ImageName(%q) = %q, want %q", tc.site, tc.provider, got, tc.want)
		}
	}
	_, err := Load(testRoot(t, "{\n  \"image_names\": \"long\"\n}\n", nil), "CentOS-7.9.2009", noEnv, Options{})
	if err == nil || !strings.Contains(err.Error(), `line 2: field "image_names": want "original" (<vm_name>-<version>_<provider>, as the original project's) or "short" (<vm_name>-<version>), got "long"`) {
		t.Errorf("err = %v", err)
	}
}

func TestKSServerIsAnHTTPURLAndOnTheLoopbackPlainHTTP(t *testing.T) {
	for ks, want := range map[string]string{
		"http://localhost:8080/":           "",
		"http://127.0.0.1/gsi/":            "",
		"https://ks.example.com/gsi":       "",
		"https://localhost:8443/":          "a kickstart server on this host's loopback must be http://",
		"ks.example.com":                   "want an http:// or https:// URL without query",
		"http://ks.example.com/ks.php?x=1": "want an http:// or https:// URL without query",
	} {
		_, _, err := LoadSite(testRoot(t, `{"ks_server": "`+ks+`"}`, nil), noEnv)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", ks, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: err = %v, want it to say %q", ks, err, want)
		}
	}
	for raw, want := range map[string]int{"http://localhost:8080/": 8080, "http://127.0.0.5": 80, "http://[::1]:81/x": 81, "http://ks.example.com:8080": -1, "http://127.evil.example:80": -1} {
		u, _ := url.Parse(raw)
		port, ok := LoopbackPort(u)
		if ok != (want >= 0) || ok && port != want {
			t.Errorf("LoopbackPort(%s) = %d, %v; want %d", raw, port, ok, want)
		}
	}
}

func TestBuildOnlyDropsSecretsUploadsAndSigningAndKeepsWhatChangesTheImage(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(*Site)
		kept bool
	}{
		{"the root password", func(s *Site) { s.RootPass = "secret" }, false},
		{"the root salt", func(s *Site) { s.RootSalt = "salt" }, false},
		{"the registry", func(s *Site) { s.Registry, s.RegistryInsecure = "registry.example.org", true }, false},
		{"the aws upload", func(s *Site) { s.AWS.Bucket = "bucket" }, false},
		{"the signing keys", func(s *Site) { s.Signing.GPGKey = "key.asc" }, false},
		{"an os override", func(s *Site) { s.OSOverrides = map[string]OSOverride{"centos7": {}} }, false},
		{"the disk size", func(s *Site) { s.DiskSize = 40960 }, true},
		{"gcp's guest repository", func(s *Site) { s.GCPGuestRepo = "https://mirror.example.org/yum" }, true},
	} {
		site := Defaults()
		c.set(&site)
		if kept := !reflect.DeepEqual(site.BuildOnly(), Defaults().BuildOnly()); kept != c.kept {
			t.Errorf("%s: kept by BuildOnly %v, want %v", c.name, kept, c.kept)
		}
	}
}
