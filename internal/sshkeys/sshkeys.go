// Package sshkeys creates the SSH key pairs the builds use (keys/packer for
// Packer's connection, keys/vagrant for the Vagrant user) with Go's crypto,
// so no ssh-keygen is needed.
package sshkeys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// Names are the key pairs every build needs, below keys/.
var Names = []string{"packer", "vagrant"}

// Result says what Ensure did with one key pair.
type Result struct {
	Private string // path of the private key
	Created bool   // false: it existed and was left alone
}

// Ensure makes sure dir/<name> (private, 0600, OpenSSH format) and
// dir/<name>.pub exist for every name. Existing private keys are never
// overwritten; a missing .pub beside one is derived from it again.
func Ensure(dir string, names ...string) ([]Result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating key folder %q: %w", dir, err)
	}
	var results []Result
	for _, name := range names {
		created, err := ensureOne(dir, name)
		if err != nil {
			return results, err
		}
		results = append(results, Result{Private: filepath.Join(dir, name), Created: created})
	}
	return results, nil
}

func ensureOne(dir, name string) (bool, error) {
	priv := filepath.Join(dir, name)
	if data, err := os.ReadFile(priv); err == nil {
		signer, err := ssh.ParsePrivateKey(data)
		if err != nil {
			return false, fmt.Errorf("reading existing key %q: %w (move it away to make a new one)", priv, err)
		}
		if info, err := os.Stat(priv); err == nil && info.Mode().Perm()&0o077 != 0 {
			return false, fmt.Errorf("existing key %q is readable by others (mode %04o): run chmod 600 %s", priv, info.Mode().Perm(), priv)
		}
		if _, err := os.Stat(priv + ".pub"); errors.Is(err, fs.ErrNotExist) {
			return false, writeFile(priv+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644)
		}
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("reading key %q: %w", priv, err)
	}

	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return false, fmt.Errorf("generating key %q: %w", priv, err)
	}
	block, err := ssh.MarshalPrivateKey(key, name+"@gold-standard-images")
	if err != nil {
		return false, fmt.Errorf("encoding key %q: %w", priv, err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return false, fmt.Errorf("encoding public key %q: %w", priv, err)
	}
	if err := writeFile(priv, pem.EncodeToMemory(block), 0o600); err != nil {
		return false, err
	}
	authorized := fmt.Sprintf("%s %s@gold-standard-images\n", bytes.TrimSpace(ssh.MarshalAuthorizedKey(sshPub)), name)
	if err := writeFile(priv+".pub", []byte(authorized), 0o644); err != nil {
		os.Remove(priv)
		return false, err
	}
	return true, nil
}

// writeFile writes data to a temporary file with mode perm beside path and
// renames it into place, so a key is either whole or absent. It refuses to
// replace an existing file.
func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	// Link fails if path exists, unlike Rename: never overwrite a key.
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return nil
}
