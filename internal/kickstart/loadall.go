package kickstart

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"gold-standard-images/internal/config"
)

// LoadAll loads every OS definition below root (the site's settings, each
// OS's own root password hash; site-supplied ISOs need not be configured)
// and the kickstarts for them: what ks:serve, ks:render and ks:up serve.
func LoadAll(root string, getenv func(string) string, opts Options) (*Kickstarts, []Target, error) {
	names, err := config.Available(root)
	if err != nil {
		return nil, nil, err
	}
	var targets []Target
	var problems []error
	for _, n := range names {
		cfg, err := config.Load(root, n, getenv, config.Options{AllowMissingISO: true})
		if err != nil {
			problems = append(problems, err)
			continue
		}
		targets = append(targets, FromConfig(cfg))
	}
	if err := errors.Join(problems...); err != nil {
		return nil, nil, err
	}
	k, err := Load(root, targets, opts)
	return k, targets, err
}

// RenderAll renders and checks (Check) the kickstart of every build for
// every OS definition below root, reporting every problem. Without
// keys/packer.pub it renders with a placeholder key, since it checks the
// templates, not the keys.
func RenderAll(ctx context.Context, root string, getenv func(string) string) error {
	opts := Options{}
	if _, err := checkKeyFile(root); errors.Is(err, os.ErrNotExist) {
		opts.AuthorizedKey = placeholderKey
	}
	k, _, err := LoadAll(root, getenv, opts)
	if err != nil {
		return err
	}
	var problems []string
	for _, b := range k.Builds() {
		for _, o := range k.OSNames() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var buf strings.Builder
			if err := k.Render(&buf, b, o, "http://127.0.0.1:8080"); err != nil {
				problems = append(problems, err.Error())
				continue
			}
			if err := Check(buf.String()); err != nil {
				problems = append(problems, fmt.Sprintf("kickstart %s for %s: %v", b, o, err))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("rendering every kickstart:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

func checkKeyFile(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, KeyFile))
	if err != nil {
		return "", err
	}
	return checkAuthorizedKey(string(data))
}

// placeholderKey is a well-formed public key with no private half anyone
// holds, for RenderAll on a checkout without keys/.
var placeholderKey = func() string {
	pub, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " placeholder@render-all"
}()
