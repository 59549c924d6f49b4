package checksum

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// outsideFile is a file outside the artifacts tree, as /etc/shadow is.
func outsideFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(p, []byte("root:$6$secret:19000:0:99999:7:::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestALinkInAProviderFolderIsNeitherChecksummedNorVerified(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "artifacts")
	dir := filepath.Join(root, "1.0.0/vm/openstack")
	writeFiles(t, dir, map[string]string{"vm-1.0.0_openstack.qcow2": "qcow2"})
	link := filepath.Join(dir, "vm-1.0.0_openstack.box")
	if err := os.Symlink(outsideFile(t), link); err != nil {
		t.Fatal(err)
	}
	_, err := WriteTree(ctx, root, nil)
	t.Logf("checksum: %v", err)
	if err == nil || !strings.Contains(err.Error(), link) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("checksum: error %v, want one naming the link %q as not a regular file", err, link)
	}
	if data, err := os.ReadFile(filepath.Join(dir, FileName)); err == nil {
		t.Errorf("SHA256SUM written:\n%s", data)
	}

	// A SHA256SUM made by hand (sha256sum follows links) lists the link
	// with its target's digest: verify names it all the same.
	target, _ := os.ReadFile(outsideFile(t))
	sums := Format([]Entry{{"vm-1.0.0_openstack.qcow2", sha256Hex([]byte("qcow2"))}, {"vm-1.0.0_openstack.box", sha256Hex(target)}})
	if err := os.WriteFile(filepath.Join(dir, FileName), sums, 0o644); err != nil {
		t.Fatal(err)
	}
	ms, err := VerifyTree(ctx, root)
	t.Logf("verify: %v %v", ms, err)
	if err != nil || len(ms) != 1 || ms[0].Name != "vm-1.0.0_openstack.box" || !strings.Contains(ms[0].Problem, "not a regular file") {
		t.Errorf("verify: mismatches %v, error %v; want the link named as not a regular file", ms, err)
	}
}

func TestListedTakesOnlyARegularFileWithTheDigestSHA256SUMLists(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, path string)
		want  string // in the error; "" passes
	}{
		{"as checksummed", func(t *testing.T, path string) {}, ""},
		{"touched since, same content", func(t *testing.T, path string) {
			must(t, os.Chmod(path, 0o640))
		}, ""},
		{"changed since", func(t *testing.T, path string) {
			must(t, os.WriteFile(path, []byte("other disk"), 0o644))
		}, "changed since it was checksummed"},
		{"a link to its own copy outside", func(t *testing.T, path string) {
			copyOut := filepath.Join(t.TempDir(), "disk")
			must(t, os.Rename(path, copyOut))
			must(t, os.Symlink(copyOut, path))
		}, "a symbolic link, not a regular file"},
		{"not listed", func(t *testing.T, path string) {
			must(t, os.WriteFile(filepath.Join(filepath.Dir(path), FileName), Format([]Entry{{"other", sha256Hex(nil)}}), 0o644))
		}, "not listed in"},
		{"no SHA256SUM", func(t *testing.T, path string) {
			must(t, os.Remove(filepath.Join(filepath.Dir(path), FileName)))
		}, "artifacts:checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "artifacts/1.0.0/vm/gcp")
			writeFiles(t, dir, map[string]string{"vm-1.0.0_gcp.tar.gz": "disk"})
			path := filepath.Join(dir, "vm-1.0.0_gcp.tar.gz")
			if _, err := writeFolder(ctx, dir); err != nil {
				t.Fatal(err)
			}
			tc.spoil(t, path)
			sum, err := Listed(ctx, path)
			if tc.want == "" {
				if err != nil || sum != sha256Hex([]byte("disk")) {
					t.Errorf("Listed = %q, %v; want the file's digest", sum, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Listed = %q, %v; want an error naming %q and %q", sum, err, path, tc.want)
			}
		})
	}
}
