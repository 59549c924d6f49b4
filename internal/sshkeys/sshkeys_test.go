package sshkeys

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestEnsureCreatesPrivateKeysThatParse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	results, err := Ensure(dir, Names...)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || !results[0].Created || !results[1].Created {
		t.Fatalf("results = %+v, want two created keys", results)
	}
	for _, name := range Names {
		priv := filepath.Join(dir, name)
		info, err := os.Stat(priv)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", priv, perm)
		}
		data, _ := os.ReadFile(priv)
		if !bytes.HasPrefix(data, []byte("-----BEGIN OPENSSH PRIVATE KEY-----")) {
			t.Errorf("%s is not in OpenSSH format", priv)
		}
		signer, err := ssh.ParsePrivateKey(data)
		if err != nil {
			t.Fatalf("%s does not parse: %v", priv, err)
		}
		pubData, _ := os.ReadFile(priv + ".pub")
		pub, comment, _, _, err := ssh.ParseAuthorizedKey(pubData)
		if err != nil {
			t.Fatalf("%s.pub does not parse: %v", priv, err)
		}
		if !bytes.Equal(pub.Marshal(), signer.PublicKey().Marshal()) {
			t.Errorf("%s.pub does not belong to %s", priv, priv)
		}
		if comment != name+"@gold-standard-images" {
			t.Errorf("comment = %q", comment)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestEnsureNeverOverwritesExistingKeys(t *testing.T) {
	dir := t.TempDir()
	if _, err := Ensure(dir, "packer"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "packer"))
	os.Remove(filepath.Join(dir, "packer.pub"))
	results, err := Ensure(dir, "packer")
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Created {
		t.Error("an existing key was reported as created")
	}
	after, _ := os.ReadFile(filepath.Join(dir, "packer"))
	if !bytes.Equal(before, after) {
		t.Error("the existing private key was replaced")
	}
	if _, err := os.Stat(filepath.Join(dir, "packer.pub")); err != nil {
		t.Errorf("the missing public key was not derived again: %v", err)
	}
}

func TestEnsureRejectsBadExistingKeys(t *testing.T) {
	cases := []struct {
		name    string
		content string
		perm    os.FileMode
		want    string
	}{
		{"NotAKey", "hello", 0o600, "move it away"},
		{"WorldReadable", "", 0o644, "chmod 600"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "packer")
			content := []byte(tc.content)
			if tc.content == "" {
				if _, err := Ensure(dir, "packer"); err != nil {
					t.Fatal(err)
				}
				content, _ = os.ReadFile(path)
				os.Remove(path)
			}
			if err := os.WriteFile(path, content, tc.perm); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, tc.perm)
			_, err := Ensure(dir, "packer")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want it to name %s and say %q", err, path, tc.want)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, content) {
				t.Error("the bad key was changed")
			}
		})
	}
}
