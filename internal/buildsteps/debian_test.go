package buildsteps

import (
	"slices"
	"testing"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/debian"
	"gold-standard-images/internal/providers"
)

// The debian12 family's row builds exactly the providers internal/debian
// has content for: a provider in one and not the other would be left out
// without a word, or fail in the middle of a build.
func TestTheDebianFamilyBuildsWhatItsPackageMakes(t *testing.T) {
	f, ok := config.FamilyNamed("debian12")
	if !ok || f.Installer != config.Bootstrap {
		t.Fatalf("family debian12: %+v, want a bootstrap family", f)
	}
	var builds []string
	for _, p := range providers.All {
		if f.Builds(p) {
			builds = append(builds, p.Name)
		}
	}
	slices.Sort(builds)
	if made := debian.Providers(); !slices.Equal(builds, made) {
		t.Errorf("family debian12 builds %v, internal/debian makes disks for %v", builds, made)
	}
}
