package test

import (
	"os/exec"
	"testing"
)

// TestGitIgnoresEveryCopyOfTheSiteSettings: templates/site.json may hold
// root_pass, and so do the copies editors and merges leave beside it.
func TestGitIgnoresEveryCopyOfTheSiteSettings(t *testing.T) {
	root := repoRoot(t)
	for path, ignored := range map[string]bool{
		"templates/site.json":         true,
		"templates/site.json~":        true,
		"templates/site.json.bak":     true,
		"templates/site.json.orig":    true,
		"templates/.site.json.swp":    true,
		"templates/site.json.swp":     true,
		"keys/packer":                 true,
		"templates/site.json.example": false,
		"keys/.keep":                  false,
	} {
		err := exec.Command("git", "-C", root, "check-ignore", "-q", "--no-index", path).Run()
		if got := err == nil; got != ignored {
			t.Errorf("git ignores %s: %v, want %v (%v)", path, got, ignored, err)
		}
	}
}
