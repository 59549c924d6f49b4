//go:build mage

package main

import (
	"path/filepath"

	"gold-standard-images/internal/sshkeys"
)

// Keys creates the SSH key pairs keys/packer and keys/vagrant, never overwriting existing ones.
//
// Private keys are written in OpenSSH format with mode 0600; keys/ is
// ignored by git.
func Keys() error {
	results, err := sshkeys.Ensure(filepath.Join(repoRoot(), "keys"), sshkeys.Names...)
	for _, r := range results {
		if r.Created {
			say("keys: created %s and %s.pub", r.Private, r.Private)
		} else {
			say("keys: %s exists, kept", r.Private)
		}
	}
	return err
}
