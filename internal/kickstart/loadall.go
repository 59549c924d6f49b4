package kickstart

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"gold-standard-images/internal/config"
)

// LoadAll loads every OS definition of a kickstart family below root (the site's settings, each
// OS's own root password hash; site-supplied ISOs need not be configured)
// and the kickstarts for them: what ks:serve, ks:render and ks:up serve.
// An OS definition that does not load is that OS's problem alone
// (Kickstarts.Problems); the site settings, the builds and the key are
// everyone's and fail LoadAll.
func LoadAll(root string, getenv func(string) string, opts Options) (*Kickstarts, []Target, error) {
	names, err := config.Available(root)
	if err != nil {
		return nil, nil, err
	}
	if _, _, err := config.LoadSite(root, getenv); err != nil {
		return nil, nil, err
	}
	var targets []Target
	broken := map[string]error{}
	for _, n := range names {
		cfg, err := config.Load(root, n, getenv, config.Options{AllowMissingISO: true})
		if err != nil {
			broken[n] = err
			continue
		}
		if cfg.OS.Installer() != config.Kickstart {
			continue // installed without a kickstart (config.Bootstrap)
		}
		targets = append(targets, FromConfig(cfg))
	}
	k, err := Load(root, targets, opts)
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(k.broken, broken)
	return k, targets, nil
}

// RenderAll renders and checks (Check) the kickstart of every build for
// every OS definition below root, reporting every problem: an OS
// definition that does not load is one problem, and the others are still
// rendered and checked. Without
// keys/packer.pub it renders with a placeholder key, since it checks the
// templates, not the keys.
func RenderAll(ctx context.Context, root string, getenv func(string) string) error {
	opts := Options{}
	if _, err := checkKeyFile(root); errors.Is(err, os.ErrNotExist) {
		opts.AuthorizedKey = placeholderKey
	}
	k, ts, err := LoadAll(root, getenv, opts)
	if err != nil {
		return err
	}
	var problems []string
	for _, err := range k.Problems() {
		problems = append(problems, err.Error())
	}
	targets := map[string]Target{}
	for _, t := range ts {
		targets[t.VMName] = t
	}
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
			if err := Check(buf.String(), targets[o]); err != nil {
				problems = append(problems, fmt.Sprintf("kickstart %s for %s: %v", b, o, err))
			}
			if k.builds[b].GrowRoot {
				if err := CheckGrowRoot(buf.String()); err != nil {
					problems = append(problems, fmt.Sprintf("kickstart %s for %s (growroot = yes): %v", b, o, err))
				}
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
