//go:build mage

package main

import (
	"encoding/json"
	"os"
)

// Config prints the effective configuration of an OS definition as JSON, secrets redacted.
//
// It merges templates/site.json (optional) over the defaults and the OS
// definition templates/os/<vm_name>.json. Environment: VERSION overrides the
// site's version.
func Config(vmName string) error {
	cfg, err := loadConfig(vmName)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(cfg.Redacted())
}
