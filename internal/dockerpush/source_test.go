package dockerpush

import (
	"context"
	"os/exec"
	"testing"
)

func TestSourceLabelIsTheOriginWithoutCredentialsOrNothing(t *testing.T) {
	for _, tc := range []struct{ origin, want string }{
		{"https://github.com/org/gold-standard-images.git", "https://github.com/org/gold-standard-images.git"},
		{"https://user:ghp_token@github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://oauth2:tok@gitlab.example.com/org/repo.git?private_token=x#frag", "https://gitlab.example.com/org/repo.git"},
		{"ssh://git:s3cret@git.example.com:2222/org/repo.git", "ssh://git.example.com:2222/org/repo.git"},
		{"git+ssh://deploy@git.example.com/org/repo.git", "git+ssh://git.example.com/org/repo.git"},
		{"git://git.example.com/org/repo.git", "git://git.example.com/org/repo.git"},
		{"git@github.com:org/repo.git", "github.com:org/repo.git"},
		{"deploy:pw@git.example.com:org/repo.git", "git.example.com:org/repo.git"},
		{"github.com:org/repo.git", "github.com:org/repo.git"},
		// Local checkouts name the builder's machine: no label.
		{"/home/alice/src/gold-standard-images", ""},
		{"../gold-standard-images", ""},
		{"./repo:with-colon", ""},
		{"file:///srv/git/gold.git", ""},
		{"C:/src/gold", ""},
		{"ftp://example.com/repo", ""},
		{"https:///no-host", ""},
		{"", ""},
	} {
		if got := sourceURL(tc.origin); got != tc.want {
			t.Errorf("sourceURL(%q) = %q, want %q", tc.origin, got, tc.want)
		}
	}
}

// TestAnImageBuiltFromALocalCloneHasNoSourceLabel: a checkout whose origin
// is another folder (a clone of a local repository) gives no source label,
// never the folder's path; an ssh origin gives it without the user.
func TestAnImageBuiltFromALocalCloneHasNoSourceLabel(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("this test needs git: %v", err)
	}
	root := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("remote", "add", "origin", "/srv/checkouts/gold-standard-images")
	if _, source := gitInfo(context.Background(), root); source != "" {
		t.Errorf("source of a local origin = %q, want none", source)
	}
	git("remote", "set-url", "origin", "alice:pw@git.example.com:org/gold.git")
	if _, source := gitInfo(context.Background(), root); source != "git.example.com:org/gold.git" {
		t.Errorf("source of an scp-like origin = %q, want it without the user", source)
	}
}
