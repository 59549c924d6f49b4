package kickstart

import (
	"bytes"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/golden"
	"gold-standard-images/internal/providers"
)

// repoRoot is the repository: the shipped definitions and templates.
const repoRoot = "../.."

// testKey is root's authorized key in the tests (a fixed public key).
const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl packer@gold-standard-images"

// testPassword is the root password of the test targets: it must never
// appear in anything rendered or served.
const testPassword = "s3cret-Root-Pass"

// shippedTargets are the shipped OS definitions with the default site
// settings and a fixed root password hash, so the golden files are stable.
func shippedTargets(t testing.TB) []Target {
	t.Helper()
	names, err := config.Available(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	site := config.Defaults()
	var ts []Target
	for _, n := range names {
		def, err := config.LoadOS(repoRoot, n, site, config.Options{AllowMissingISO: true})
		if err != nil {
			t.Fatal(err)
		}
		if def.Installer() != config.Kickstart {
			continue
		}
		ts = append(ts, Target{
			VMName: def.VMName, Family: def.Family, OSVersion: def.OSVersion, Firmware: string(def.Firmware),
			RepoURL: def.RepoURL(), AppStreamURL: def.AppStreamURL(),
			Lang: site.Lang, Keyboard: site.Keyboard, Timezone: site.Timezone,
			RootPasswordHash: config.SHA512Crypt(testPassword, "goldenSALTgolden"),
		})
	}
	return ts
}

// uefiTargets are one shipped OS of each major release booted with UEFI
// firmware and given NTP servers, so the golden files hold both ways of
// each family.
func uefiTargets(t testing.TB) []Target {
	t.Helper()
	var out []Target
	for _, tg := range shippedTargets(t) {
		switch tg.VMName {
		case "CentOS-7.9.2009", "Rocky-8.10", "Rocky-9.6", "CentOS-Stream-10":
			tg.VMName += "-uefi"
			tg.Firmware = string(config.UEFI)
			tg.NTPServers = []string{"0.pool.ntp.org", "ntp.example.com"}
			out = append(out, tg)
		}
	}
	return out
}

func loadShipped(t testing.TB) *Kickstarts {
	t.Helper()
	k, err := Load(repoRoot, append(shippedTargets(t), uefiTargets(t)...), Options{AuthorizedKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// copyTree copies the parts of the repository the kickstarts read into a
// temporary root that a test may change.
func copyTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, dir := range []string{"http", "templates/os"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(repoRoot, p)
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(root, rel), 0o755)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(root, rel), data, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, KeyFile), []byte(testKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func writeFile(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEveryBuildAndOSRendersAValidKickstartMatchingItsGoldenFile(t *testing.T) {
	k := loadShipped(t)
	builds := k.Builds()
	wantBuilds := []string{"metal/example"} // and a virtual build per provider
	for _, name := range slices.Sorted(slices.Values(providers.Names(providers.All))) {
		wantBuilds = append(wantBuilds, "virtual/"+name)
	}
	if strings.Join(builds, ",") != strings.Join(wantBuilds, ",") {
		t.Fatalf("builds = %v, want %v", builds, wantBuilds)
	}
	if p := k.Problems(); len(p) > 0 {
		t.Fatalf("shipped targets that do not load: %v", p)
	}
	for _, b := range builds {
		for _, o := range k.OSNames() {
			var buf bytes.Buffer
			if err := k.Render(&buf, b, o, "http://192.0.2.1:8080"); err != nil {
				t.Fatalf("render %s %s: %v", b, o, err)
			}
			if err := Check(buf.String(), k.targets[o]); err != nil {
				t.Errorf("%s %s: %v", b, o, err)
			}
			golden.CheckNamed(t, strings.ReplaceAll(b, "/", "_")+"_"+o, buf.Bytes())
		}
	}
}

func TestLayersApplyInOrderAndMetalNamesComeFromTheFQDN(t *testing.T) {
	builds, err := LoadBuilds(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		build                          string
		boot                           int
		lvm, swapRec, static, growRoot bool
		swapSize, rootSize             int
		disk, vg, host, domain         string
	}{
		{"virtual/aws", 400, true, true, false, false, 0, 0, "sda", "rootvg", "", ""},
		{"virtual/virtualbox", 400, true, true, false, false, 0, 0, "sda", "rootvg", "", ""},
		{"virtual/vmware", 400, true, true, false, false, 0, 0, "sda", "rootvg", "", ""},
		{"virtual/openstack", 0, false, false, false, true, 0, 0, "vda", "rootvg", "", ""},
		{"virtual/azure", 400, true, false, false, false, 0, 0, "vda", "rootvg", "", ""},
		{"virtual/docker", 0, false, false, false, false, 0, 0, "vda", "rootvg", "", ""},
		{"virtual/gcp", 0, false, false, false, false, 0, 0, "vda", "rootvg", "", ""},
		{"metal/example", 1024, true, true, true, false, 0, 51200, "sda", "web01_rootvg", "web01", "example.com"},
	}
	for _, c := range cases {
		t.Run(c.build, func(t *testing.T) {
			b, ok := builds[c.build]
			if !ok {
				t.Fatalf("no build %q", c.build)
			}
			// The original project's names and sizes: root volume rootvol,
			// 32 MiB extents; /boot on the root's file system.
			got := []any{b.Boot, b.LVM, b.SwapRecommended, b.Static, b.GrowRoot, b.SwapSize, b.RootSize, b.Disk, b.VG, b.Hostname, b.Domain, b.FSType, b.BootFS, b.LV, b.PESize}
			want := []any{c.boot, c.lvm, c.swapRec, c.static, c.growRoot, c.swapSize, c.rootSize, c.disk, c.vg, c.host, c.domain, "xfs", "xfs", "rootvol", 32768}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("field %d = %v, want %v (build %+v)", i, got[i], want[i], b)
				}
			}
		})
	}
}

func TestBadDefinitionsAreAllReportedWithFileAndLine(t *testing.T) {
	root := copyTree(t)
	writeFile(t, root, "http/builds/virtual/broken", "swap = lots\nlvm = maybe\ncolour = blue\nnot a pair\nipaddr = 10.0.0.1\n")
	writeFile(t, root, "http/builds/metal/half", "fqdn = nodomain\nipaddr = 10.0.0.300\nnameserver = 10.0.0.1,bad\n")
	_, err := LoadBuilds(root)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		`http/builds/virtual/broken:1: swap "lots": want recommended, none or a size in MiB`,
		`http/builds/virtual/broken:2: lvm "maybe": want yes or no`,
		`http/builds/virtual/broken:3: unknown key "colour"`,
		`http/builds/virtual/broken:4: want "key = value", got "not a pair"`,
		`http/builds/virtual/broken:5: ipaddr "10.0.0.1": virtual builds get their network by DHCP`,
		`http/builds/metal/half:1: fqdn "nodomain": want a host name with its domain`,
		`http/builds/metal/half:2: ipaddr "10.0.0.300": want an IPv4 address`,
		`http/builds/metal/half:3: nameserver "10.0.0.1,bad": want IPv4 addresses`,
		`http/builds/metal/half: key "device": a metal host must set it`,
		`http/builds/metal/half: key "gateway": a metal host must set it`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestLoadRefusesAPrivateKeyAndAnOSWithoutATemplate(t *testing.T) {
	root := copyTree(t)
	ts := shippedTargets(t)
	if _, err := Load(root, ts, Options{AuthorizedKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"}); err == nil || !strings.Contains(err.Error(), "holds a private key") {
		t.Errorf("private key: err = %v", err)
	}
	os.Remove(filepath.Join(root, KeyFile))
	if _, err := Load(root, ts, Options{}); err == nil || !strings.Contains(err.Error(), "run `mage keys`") {
		t.Errorf("missing key: err = %v", err)
	}
	// A target without a template, or with a bad value, fails alone.
	ts[0].Family = "rhel6"
	ts[1].Lang = "en_US.UTF-8\nrootpw --plaintext x"
	k, err := Load(root, ts, Options{AuthorizedKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ vm, want string }{
		{ts[0].VMName, `OS definition "templates/os/` + ts[0].VMName + `.json": loading the kickstart template of family "rhel6"`},
		{ts[1].VMName, "lang"},
	} {
		if err := k.Render(io.Discard, "virtual/aws", c.vm, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to say %q", c.vm, err, c.want)
		}
	}
	if got := len(k.Problems()); got != 2 {
		t.Errorf("Problems() = %v, want the 2 broken targets", k.Problems())
	}
	if err := k.Render(io.Discard, "virtual/aws", ts[2].VMName, ""); err != nil {
		t.Errorf("%s, loaded beside the broken ones: %v", ts[2].VMName, err)
	}
}

// Adding a broken OS definition next to the shipped ones (a malformed file,
// a family without a template, an unknown family, a release no family
// serves) breaks those definitions only: ks:render, ks:serve and mage
// validate (RenderAll) keep working for every other OS, and each broken
// one is reported naming its file.
func TestABrokenOSDefinitionBreaksOnlyItself(t *testing.T) {
	root := copyTree(t)
	broken := map[string]string{
		"Rocky-9.4":  `{"vm_name": "Rocky-9.4", "os_name": "Rocky", "os_version": "9.4", "iso": "Rocky-9.4-x86_64-minimal", "iso_checksum": "` + strings.Repeat("a", 64) + `", "iso_server": "https://dl.rockylinux.org/vault/rocky", "os_family": "rhel94"}`,
		"Malformed":  `{"vm_name": "Malformed", "os_name": `,
		"Future-11":  `{"vm_name": "Future-11", "os_name": "Future", "os_version": "11.0", "iso": "f", "iso_checksum": "` + strings.Repeat("b", 64) + `", "iso_server": "https://example.com"}`,
		"NoTemplate": `{"vm_name": "NoTemplate", "os_name": "Rocky", "os_version": "9.4", "iso": "r", "iso_checksum": "` + strings.Repeat("c", 64) + `", "iso_server": "https://example.com"}`,
	}
	for name, body := range broken {
		writeFile(t, root, "templates/os/"+name+".json", body)
	}
	// NoTemplate's family exists in the code but its template is missing in
	// this tree: the rhel9 OS definitions break with it, the others not.
	if err := os.Remove(filepath.Join(root, TemplatesDir, "rhel9.ks.tmpl")); err != nil {
		t.Fatal(err)
	}
	getenv := func(string) string { return "" }
	k, _, err := LoadAll(root, getenv, Options{})
	if err != nil {
		t.Fatalf("LoadAll failed as a whole: %v", err)
	}
	for _, vm := range []string{"CentOS-7.9.2009", "RedHat-7.9", "Rocky-8.10", "RedHat-8.10"} {
		var buf bytes.Buffer
		if err := k.Render(&buf, "virtual/aws", vm, ""); err != nil {
			t.Errorf("%s: %v", vm, err)
		} else if err := Check(buf.String(), k.targets[vm]); err != nil {
			t.Errorf("%s: %v", vm, err)
		}
	}
	for vm, want := range map[string]string{
		"Rocky-9.4":  `"templates/os/Rocky-9.4.json": line 1: field "os_family": want one of debian12, rhel7, rhel8, rhel9`,
		"Malformed":  `"templates/os/Malformed.json": malformed JSON`,
		"Future-11":  `"templates/os/Future-11.json": line 1: field "os_version": no kickstart family serves major release 11`,
		"NoTemplate": `OS definition "templates/os/NoTemplate.json": loading the kickstart template of family "rhel9"`,
		"Rocky-9.6":  `OS definition "templates/os/Rocky-9.6.json": loading the kickstart template of family "rhel9"`,
	} {
		err := k.Render(io.Discard, "virtual/aws", vm, "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to say %s", vm, err, want)
		}
	}
	h := k.Handler()
	for vm, code := range map[string]int{"CentOS-7.9.2009": 200, "Rocky-9.4": 500, "Malformed": 500} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/ks?build=virtual/aws&os="+vm, nil))
		if rec.Code != code {
			t.Errorf("GET /ks for %s: status %d, want %d: %s", vm, rec.Code, code, rec.Body)
		}
	}
	err = RenderAll(t.Context(), root, getenv)
	if err == nil {
		t.Fatal("RenderAll passed with broken OS definitions")
	}
	for _, want := range []string{"Rocky-9.4.json", "Malformed.json", "Future-11.json", "NoTemplate.json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("RenderAll does not report %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "kickstart virtual/aws for CentOS-7.9.2009") {
		t.Errorf("RenderAll reports the intact CentOS-7.9.2009:\n%v", err)
	}
}

func TestANewFamilyIsOneTemplateFile(t *testing.T) {
	root := copyTree(t)
	writeFile(t, root, "http/templates/rhel10.ks.tmpl", "# {{ .OS.VMName }} {{ .Build.Name }} family rhel10\n")
	ts := shippedTargets(t)[:1]
	ts[0].Family = "rhel10"
	k, err := Load(root, ts, Options{AuthorizedKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := k.Render(&buf, "virtual/aws", ts[0].VMName, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "# "+ts[0].VMName+" virtual/aws family rhel10\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRenderAllPassesForTheShippedFilesAndReportsABrokenTemplate(t *testing.T) {
	root := copyTree(t)
	getenv := func(string) string { return "" }
	if err := RenderAll(t.Context(), root, getenv); err != nil {
		t.Fatalf("shipped files: %v", err)
	}
	tmpl := filepath.Join(root, TemplatesDir, "rhel7.ks.tmpl")
	data, _ := os.ReadFile(tmpl)
	broken := strings.Replace(string(data), "authconfig --enableshadow", "authconfig --enablefancy", 1)
	writeFile(t, root, "http/templates/rhel7.ks.tmpl", broken)
	err := RenderAll(t.Context(), root, getenv)
	if err == nil || !strings.Contains(err.Error(), "authconfig: unknown option --enablefancy") || !strings.Contains(err.Error(), "kickstart virtual/gcp for CentOS-7.9.2009") {
		t.Errorf("broken template: err = %v", err)
	}
}
