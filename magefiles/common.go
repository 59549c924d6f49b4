//go:build mage

package main

import (
	"fmt"
	"io"
	"os"

	"github.com/magefile/mage/mg"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/redact"
)

// repoRoot is the repository root: mage runs targets from there.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return wd
}

// loadConfig loads the validated configuration of one OS definition.
func loadConfig(vmName string) (*config.Config, error) {
	return config.Load(repoRoot(), vmName, os.Getenv, config.Options{})
}

// say prints a short progress line, as every target does.
func say(format string, args ...any) {
	fmt.Fprint(os.Stderr, redact.Text(fmt.Sprintf(">> "+format+"\n", args...)))
}

// toolOutput is where the output of external tools goes: the terminal with
// mage -v, nowhere otherwise.
func toolOutput() io.Writer {
	if mg.Verbose() {
		return os.Stderr
	}
	return io.Discard
}
