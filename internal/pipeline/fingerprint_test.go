package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"gold-standard-images/internal/providers"
)

// fingerprintWith is the gcp fingerprint of f's root with root_pass in the
// site file (loaded anew each time: a random salt each time).
func fingerprintWith(t *testing.T, f *fixture, rootPass string) string {
	t.Helper()
	f.write("templates/site.json", `{"root_pass": "`+rootPass+`"}`)
	fps, err := fingerprints(f.config(), providers.All, "1.9.4")
	if err != nil {
		t.Fatal(err)
	}
	return fps["gcp"]
}

func TestTheFingerprintFollowsTheRootPasswordAndStaysAcrossRuns(t *testing.T) {
	f := newFixture(t)
	first := fingerprintWith(t, f, "correct horse")
	if again := fingerprintWith(t, f, "correct horse"); again != first {
		t.Errorf("the same password gave another fingerprint on the next run:\n%s\n%s", first, again)
	}
	if other := fingerprintWith(t, f, "battery staple"); other == first {
		t.Error("another password gave the same fingerprint")
	}
}

// TestTheRootPasswordCannotBeTestedAgainstAPublishedFingerprint: whoever
// knows every input but the site's private key (the cache key is
// published by mage plan; the templates and the public keys are no
// secret) cannot tell a right guess of the root password from a wrong one.
func TestTheRootPasswordCannotBeTestedAgainstAPublishedFingerprint(t *testing.T) {
	site := newFixture(t)
	published := fingerprintWith(t, site, "correct horse")

	attacker := newFixture(t) // the same public inputs...
	if err := os.Remove(filepath.Join(attacker.root, "keys", "packer")); err != nil {
		t.Fatal(err) // ...without the site's private key
	}
	for _, guess := range []string{"wrong guess", "correct horse"} {
		if fingerprintWith(t, attacker, guess) == published {
			t.Errorf("the guess %q reproduces the published fingerprint without the site's key", guess)
		}
	}
	attacker.write("keys/packer", "another site's private key")
	if fingerprintWith(t, attacker, "correct horse") == published {
		t.Error("another site's key reproduces the published fingerprint")
	}
}
