// Package sign holds the release signing keys the site provides: an
// OpenPGP key for the SHA256SUM files and a cosign key for image
// signatures and provenance (internal/sign/pgpkey, internal/sign/cosignkey).
// Settings come from the environment over templates/site.json; private
// keys are read only from where the site said, refused unless mode 0600,
// and never printed.
package sign

import (
	"fmt"
	"os"
)

// ReadPrivate reads a private key file, refusing one that is not a regular
// file of mode 0600 (or stricter): what variable names it, for the
// message.
func ReadPrivate(path, what string) ([]byte, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("reading the private key %q (%s): %w", path, what, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("reading the private key %q (%s): not a regular file", path, what)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("reading the private key %q (%s): it is readable by others (mode %04o): run chmod 600 %s", path, what, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the private key %q (%s): %w", path, what, err)
	}
	return data, nil
}
