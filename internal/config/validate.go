package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"gold-standard-images/internal/redact"
	"gold-standard-images/internal/tree"
)

var (
	hex64       = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	hex40       = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)
	vmNameRe    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	namespaceRe = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)
	saltRe      = regexp.MustCompile(`^[./0-9A-Za-z]{1,16}$`)
	hostRe      = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$`)
	mirrorDirRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// OVAHashes are the hash algorithms vmware_sha names (ovftool's
// --shaAlgorithm).
var OVAHashes = []string{"sha1", "sha256", "sha512"}

// checkVersion returns what is wrong with an image version (tree.IsVersion:
// the artifacts tree and Vagrant's catalog take it), or "".
func checkVersion(v string) string {
	if !tree.IsVersion(v) {
		return fmt.Sprintf("want a version %s, got %q", tree.VersionGrammar, v)
	}
	return ""
}

// validateSite checks the site settings; known are the vm_names with an
// OS definition, which the "os" overrides must name (nil skips that check).
func validateSite(s Site, lines map[string]int, known []string) []Problem {
	var ps []Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{Line: lines[field], Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !namespaceRe.MatchString(s.Namespace) {
		add("namespace", "want letters, digits and . _ - between them (a Vagrant and registry namespace), got %q", s.Namespace)
	}
	if msg := checkVersion(s.Version); msg != "" {
		add("version", "%s", msg)
	}
	for i, u := range s.ISOServer {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			add("iso_server", "entry %d: want an http:// or https:// URL (the site's ISO mirror), got %q", i+1, u)
		}
	}
	if s.RepoServer != "" && !strings.HasPrefix(s.RepoServer, "http://") && !strings.HasPrefix(s.RepoServer, "https://") {
		add("repo_server", "want an http:// or https:// URL (the site's package mirror) or empty, got %q", s.RepoServer)
	}
	if s.KSServer != "" {
		u, err := url.Parse(s.KSServer)
		loopback := false
		if err == nil {
			_, loopback = LoopbackPort(u)
		}
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s.KSServer, " \t\n\"'"):
			add("ks_server", "want an http:// or https:// URL without query or empty (start one in-process), got %q", s.KSServer)
		case loopback && u.Scheme == "https":
			add("ks_server", "a kickstart server on this host's loopback must be http://: the guests reach it at another address (10.0.2.2, the vmnet address), which its certificate does not name; got %q", s.KSServer)
		}
	}
	if s.DiskSize < 4096 || s.DiskSize > 2*1024*1024 {
		add("disk_size", "want a size in MiB from 4096 to 2097152, got %d", s.DiskSize)
	}
	for field, v := range map[string]string{"lang": s.Lang, "keyboard": s.Keyboard, "timezone": s.Timezone} {
		if strings.TrimSpace(v) == "" || strings.ContainsAny(v, " \t\n\"'") {
			add(field, "want a non-empty value without spaces or quotes, got %q", v)
		}
	}
	if s.RootSalt != "" && !saltRe.MatchString(s.RootSalt) {
		add("root_salt", "want 1 to 16 characters from [./0-9A-Za-z], got %d characters", len(s.RootSalt))
	}
	if strings.ContainsAny(s.RootPass, "\n\r") {
		add("root_pass", "must be one line")
	}
	if d, err := time.ParseDuration(s.SSHTimeout); err != nil || d <= 0 {
		add("ssh_timeout", "want a duration such as 60m, got %q", s.SSHTimeout)
	}
	switch {
	case s.VMwareSHA == "" || contains(OVAHashes, s.VMwareSHA): // empty: sha256
	case hex64.MatchString(s.VMwareSHA):
		add("vmware_sha", "want the OVA manifest's hash algorithm, sha1, sha256 or sha512 (ovftool's --shaAlgorithm, as in the original site files), got a sha256 sum")
	default:
		add("vmware_sha", "want the OVA manifest's hash algorithm, sha1, sha256 or sha512 (ovftool's --shaAlgorithm), got %q", s.VMwareSHA)
	}
	if s.ImageNames != ImageNamesOriginal && s.ImageNames != ImageNamesShort {
		add("image_names", "want %q (<vm_name>-<version>_<provider>, as the original project's) or %q (<vm_name>-<version>), got %q", ImageNamesOriginal, ImageNamesShort, s.ImageNames)
	}
	if s.CPUs < 1 || s.CPUs > 256 {
		add("cpus", "want a number of virtual CPUs from 1 to 256, got %d", s.CPUs)
	}
	if s.Memory < 1024 || s.Memory > 4*1024*1024 {
		add("memory", "want a size in MiB from 1024 (the installer's least) to 4194304, got %d", s.Memory)
	}
	if !strings.HasPrefix(s.GCPGuestRepo, "https://") && !strings.HasPrefix(s.GCPGuestRepo, "http://") || strings.ContainsAny(s.GCPGuestRepo, " \t\n\"'?#") {
		add("gcp_guest_repo", "want an http:// or https:// URL without query, e.g. %q, got %q", Defaults().GCPGuestRepo, s.GCPGuestRepo)
	}
	for _, m := range [][2]string{{"debian_mirror", s.DebianMirror}, {"debian_security_mirror", s.DebianSecurityMirror}} {
		if msg := checkHTTPURL(m[1]); msg != "" {
			add(m[0], "%s", msg)
		}
	}
	if d, err := time.ParseDuration(s.AWS.ImportTimeout); err != nil || d <= 0 {
		add("aws.import_timeout", "want a duration such as 2h, got %q", s.AWS.ImportTimeout)
	}
	if s.AWS.ImportRole == "" {
		add("aws.import_role", "must not be empty (AWS VM Import needs its service role, usually \"vmimport\")")
	}
	for name, o := range s.OSOverrides {
		if known != nil && !contains(known, name) {
			add("os."+name, "%s", unknownVMName(name, known))
		}
		if o.ISOChecksum != "" && !hex64.MatchString(o.ISOChecksum) {
			add("os."+name+".iso_checksum", "want 64 hex characters (sha256), got %d characters", len(o.ISOChecksum))
		}
		if msg := checkFirmware(o.Firmware); msg != "" {
			add("os."+name+".firmware", "%s", msg)
		}
	}
	if msg := checkFirmware(s.Firmware); msg != "" {
		add("firmware", "%s", msg)
	}
	for i, h := range s.NTPServers {
		if !hostRe.MatchString(h) {
			add("ntp_servers", "entry %d: want a host name or IP address, got %q", i+1, h)
		}
	}
	sortProblems(ps)
	return ps
}

func validateOS(o OS, fileName string, lines map[string]int, opts Options) []Problem {
	var ps []Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{Line: lines[field], Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	required := func(field, value string) bool {
		if strings.TrimSpace(value) == "" {
			add(field, "required, got an empty value")
			return false
		}
		return true
	}
	if required("vm_name", o.VMName) {
		if !tree.IsVMName(o.VMName) {
			add("vm_name", "want %s, got %q", tree.VMNameGrammar, o.VMName)
		} else if o.VMName != fileName {
			add("vm_name", "want %q (the file's name), got %q", fileName, o.VMName)
		}
	}
	required("os_name", o.OSName)
	if required("os_version", o.OSVersion) && !regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`).MatchString(o.OSVersion) {
		add("os_version", "want digits and dots such as 7.9.2009, got %q", o.OSVersion)
	}
	if f, ok := FamilyNamed(o.Family); ok && f.Installer == Bootstrap {
		checkBootstrap(o, f, add)
	} else {
		checkISO(o, add, opts)
	}
	checkFamily(o, add)
	if o.MirrorDir != "" && !mirrorDirRe.MatchString(o.MirrorDir) {
		add("mirror_dir", "want one folder name such as 9-stream (letters, digits, . _ -), got %q", o.MirrorDir)
	}
	if msg := checkFirmware(o.Firmware); msg != "" {
		add("firmware", "%s", msg)
	}
	sortProblems(ps)
	return ps
}

// checkISO checks the fields of a definition installed from an ISO.
func checkISO(o OS, add func(field, format string, args ...any), opts Options) {
	required := func(field, value string) bool {
		if strings.TrimSpace(value) == "" {
			add(field, "required, got an empty value")
			return false
		}
		return true
	}
	if required("iso", o.ISO) && (strings.ContainsAny(o.ISO, "/\\") || strings.HasSuffix(o.ISO, ".iso")) {
		add("iso", "want the ISO's file name without directory or \".iso\", got %q", o.ISO)
	}
	siteHint := fmt.Sprintf("; this ISO is supplied by the site: set \"os\": {%q: {...}} in %s", o.VMName, SiteFile)
	switch {
	case o.ISOChecksum == "" && o.SiteSuppliedISO && opts.AllowMissingISO:
	case o.ISOChecksum == "" && o.SiteSuppliedISO:
		add("iso_checksum", "%s", "want the ISO's sha256 (64 hex characters), got an empty value"+siteHint+" with \"iso_checksum\"")
	case o.ISOChecksum == "" && o.ISOChecksumFile != "" && o.ISOSigningKey != "":
		// taken from the signed checksum file when the ISO is fetched
	case o.ISOChecksum == "":
		add("iso_checksum", "want the ISO's sha256 (64 hex characters), or iso_checksum_file and iso_signing_key to take it from the vendor's signed checksum file; got an empty value")
	case !hex64.MatchString(o.ISOChecksum):
		add("iso_checksum", "want 64 hex characters (sha256), got %d characters", len(o.ISOChecksum))
	}
	if len(o.ISOURL) == 0 && len(o.ISOServer) == 0 {
		switch {
		case o.SiteSuppliedISO && opts.AllowMissingISO:
		case o.SiteSuppliedISO:
			add("iso_url", "%s", "want the ISO's path or URL, got nothing"+siteHint+" with \"iso_url\"")
		default:
			add("iso_server", "want a server URL or a list of mirrors, got nothing")
		}
	}
	for i, s := range append(append(StringList(nil), o.ISOServer...), o.ISOURL...) {
		if strings.TrimSpace(s) == "" {
			add("iso_server", "entry %d is empty", i+1)
		}
	}
	if o.RepoServer != "" && !strings.HasPrefix(o.RepoServer, "http://") && !strings.HasPrefix(o.RepoServer, "https://") {
		add("repo_server", "want an http:// or https:// URL (or empty to install from the ISO), got %q", o.RepoServer)
	}
	if (o.ISOChecksumFile == "") != (o.ISOSigningKey == "") {
		add("iso_checksum_file", "iso_checksum_file and iso_signing_key go together: give both or neither")
	}
	if (o.ISOSigningKey == "") != (o.ISOSigningKeyFP == "") {
		add("iso_signing_key_fingerprint", "iso_signing_key and iso_signing_key_fingerprint go together: give both or neither")
	} else if fp := strings.ReplaceAll(o.ISOSigningKeyFP, " ", ""); fp != "" && !hex40.MatchString(fp) {
		add("iso_signing_key_fingerprint", "want the key's 40 hex character fingerprint (spaces allowed), got %q", o.ISOSigningKeyFP)
	}
}

// suiteRe is a Debian suite's code name, e.g. bookworm.
var suiteRe = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// checkBootstrap checks the fields of a definition of a bootstrap family:
// a suite, and none of an ISO's.
func checkBootstrap(o OS, f Family, add func(field, format string, args ...any)) {
	if !suiteRe.MatchString(o.Suite) {
		add("suite", "want the release's suite such as bookworm (family %q is bootstrapped, not installed from an ISO), got %q", f.Name, o.Suite)
	}
	for field, set := range map[string]bool{
		"iso": o.ISO != "", "iso_checksum": o.ISOChecksum != "", "iso_server": len(o.ISOServer) > 0, "iso_url": len(o.ISOURL) > 0,
		"iso_checksum_file": o.ISOChecksumFile != "", "repo_server": o.RepoServer != "", "site_supplied_iso": o.SiteSuppliedISO,
	} {
		if set {
			add(field, "family %q is bootstrapped without an installer: remove it (the archive is the site's debian_mirror)", f.Name)
		}
	}
}

// checkHTTPURL returns what is wrong with an archive's URL, or "". The
// URL goes into mmdebstrap's arguments and the image's apt sources, so it
// may hold no credentials.
func checkHTTPURL(u string) string {
	if (!strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://")) || strings.ContainsAny(u, " \t\n\"'?#") {
		return fmt.Sprintf("want an http:// or https:// URL without query, got %q", redact.URL(u))
	}
	if p, err := url.Parse(u); err != nil || p.User != nil {
		return fmt.Sprintf("want a URL without a user or password (it is written into the images' apt sources), got %q", redact.URL(u))
	}
	return ""
}

// checkFamily checks that os_family names a known family that serves
// os_version's major release, or, without os_family, that one does.
func checkFamily(o OS, add func(field, format string, args ...any)) {
	known := FamilyNames()
	major := Major(o.OSVersion)
	switch f, ok := FamilyNamed(o.Family); {
	case o.Family == "" && major > 0 && deriveFamily(o.OSVersion) == "":
		add("os_version", "no kickstart family serves major release %d (families: %s); set os_family or add a family (CONTRIBUTING.md, \"Adding an OS family\")", major, strings.Join(known, ", "))
	case o.Family != "" && !ok:
		add("os_family", "want one of %s, got %q", strings.Join(known, ", "), o.Family)
	case o.Family != "" && major > 0 && !slices.Contains(f.Majors, major):
		add("os_family", "family %q serves major releases %v, but os_version %q is %d", o.Family, f.Majors, o.OSVersion, major)
	}
}

// checkFirmware returns what is wrong with a firmware setting, or "".
func checkFirmware(f Firmware) string {
	if f != "" && f != BIOS && f != UEFI {
		return fmt.Sprintf("want %q or %q, got %q", BIOS, UEFI, f)
	}
	return ""
}

func sortProblems(ps []Problem) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && less(ps[j], ps[j-1]); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func less(a, b Problem) bool {
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Field < b.Field
}

// merge adds the validation problems to the decoding ones, leaving out those
// of fields that could not be decoded at all (or of a file that is not JSON),
// and sorts them by line.
func merge(decoding, validation []Problem) []Problem {
	if len(decoding) == 1 && decoding[0].Line == 0 && decoding[0].Field == "" {
		return decoding // malformed JSON: nothing else is meaningful
	}
	bad := map[string]bool{}
	for _, p := range decoding {
		bad[p.Field] = true
	}
	out := append([]Problem(nil), decoding...)
	for _, p := range validation {
		if !bad[p.Field] {
			out = append(out, p)
		}
	}
	sortProblems(out)
	return out
}
