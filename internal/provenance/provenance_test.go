package provenance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/buildrecord"
	"gold-standard-images/internal/golden"
	"gold-standard-images/internal/plan"
)

func record() buildrecord.Record {
	return buildrecord.Record{Schema: 1, VMName: "CentOS-7.9.2009", Version: "1.0.0", Provider: "gcp",
		OS: json.RawMessage(`{"vm_name":"CentOS-7.9.2009","os_version":"7.9.2009"}`), Site: json.RawMessage(`{"namespace":"gold","root_pass":"REDACTED"}`),
		ISO:       buildrecord.ISO{Name: "CentOS-7-x86_64-Minimal-2009.iso", SHA256: "07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a", ChecksumFile: "sha256sum.txt.asc", SignatureVerified: true},
		Kickstart: buildrecord.Kickstart{Build: "virtual/gcp", SHA256: strings.Repeat("a", 64)},
		Packer:    buildrecord.Packer{Version: "1.9.4", TemplatesSHA256: strings.Repeat("b", 64), VarFileContractSHA256: strings.Repeat("c", 64)},
		Ansible:   buildrecord.Ansible{CoreVersion: "2.14.3", PlaybooksSHA256: strings.Repeat("d", 64), ScriptsSHA256: strings.Repeat("e", 64)},
		Source:    buildrecord.Source{Commit: strings.Repeat("f", 40), Dirty: "no"},
		Started:   time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), Finished: time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)}
}

func TestTheStatementNamesTheArtifactAndEveryInputOfItsBuildRecord(t *testing.T) {
	s := Make("CentOS-7.9.2009-1.0.0_gcp.tar.gz", strings.Repeat("0", 64), record(), "urn:gold-standard-images:builder:ci-job:CentOS-7.9.2009-g2-kvm")
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, append(data, '\n'))
}

func TestTheEnvelopeOpensOnlyWithItsKeyAndItsSignatureIsTheSameOnEveryRun(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s := Make("disk", strings.Repeat("0", 64), record(), "urn:x")
	a, err := Envelope(key, s)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Envelope(key, s)
	if string(a) != string(b) || strings.Count(string(a), "\n") != 1 {
		t.Errorf("two envelopes of one statement differ, or are not one line:\n%s\n%s", a, b)
	}
	got, err := Open(a, &key.PublicKey)
	if err != nil || got.Digest() != strings.Repeat("0", 64) {
		t.Fatalf("Open: %v", err)
	}
	if _, err := Open(a, &other.PublicKey); err == nil {
		t.Error("Open with another key succeeded")
	}
}

func TestTheBuilderIsTheCIJobOfThePlanElseTheHost(t *testing.T) {
	root := t.TempDir()
	host, _ := os.Hostname()
	if got := BuilderID(root); got != "urn:gold-standard-images:builder:host:"+host {
		t.Errorf("BuilderID without a job = %q", got)
	}
	data, _ := json.Marshal(plan.Job{ID: "CentOS-7.9.2009-g2-kvm"})
	os.WriteFile(filepath.Join(root, plan.ManifestFile), data, 0o644)
	if got := BuilderID(root); got != "urn:gold-standard-images:builder:ci-job:CentOS-7.9.2009-g2-kvm" {
		t.Errorf("BuilderID in a CI job = %q", got)
	}
}
