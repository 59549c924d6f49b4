package inspect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"gold-standard-images/internal/atomicfile"
)

// stampPath is the record, beside an artifact, that its rules held: hidden,
// so checksums and catalogs never see it.
func stampPath(artifact string) string {
	return filepath.Join(filepath.Dir(artifact), "."+filepath.Base(artifact)+".inspected")
}

// stamp is what the record holds: the artifact's size and time and the
// rules checked (their table for the provider), so a changed artifact,
// table, build key or known key (keys: the build key first) inspects again.
func stamp(artifact, provider string, keys []string, rules []Rule) (string, error) {
	info, err := os.Stat(artifact)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d %d\n", provider, info.Size(), info.ModTime().UnixNano())
	for _, k := range keys {
		fmt.Fprintf(h, "%s\n", keyBlob(k))
	}
	for _, r := range rules {
		if r.appliesTo(provider) {
			fmt.Fprintf(h, "%q %q %q %d %q\n", r.Name, r.providerNames(), r.Families, r.Kind, r.Args)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// inspected says whether the artifact's rules held unchanged since.
func inspected(artifact, provider string, keys []string, rules []Rule) bool {
	want, err := stamp(artifact, provider, keys, rules)
	if err != nil {
		return false
	}
	got, err := os.ReadFile(stampPath(artifact))
	return err == nil && string(got) == want+"\n"
}

// markInspected records that every rule held on the artifact.
func markInspected(artifact, provider string, keys []string, rules []Rule) error {
	s, err := stamp(artifact, provider, keys, rules)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(stampPath(artifact), []byte(s+"\n"), 0o644)
}
