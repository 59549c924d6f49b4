//go:build mage

package main

import (
	"context"
	"os"

	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/validate"
)

// Validate checks the Packer templates (every provider, every OS definition), the Ansible playbooks and the kickstarts.
//
// It runs `packer validate`, `ansible-playbook --syntax-check`, `ansible-lint`
// and a render of every kickstart, and reports every failure at once. Packer
// is $PACKER, else a 1.9.x `packer` on PATH, else v1.9.4 built once from the
// Go module proxy into $PACKER_CACHE (default: the user cache folder).
// VERSION overrides the site's version. With -v the tools' output is shown.
func Validate(ctx context.Context) error {
	root := repoRoot()
	log := toolOutput()
	bin, version, err := packer.Find(ctx, root, os.Getenv, os.Stderr)
	if err != nil {
		return err
	}
	say("validate: packer v%s (%s)", version, bin)
	return validate.Run(ctx, validate.Options{
		Root: root, Packer: bin, Getenv: os.Getenv, Log: log,
		Say: func(f string, a ...any) { say("validate: "+f, a...) },
	})
}
