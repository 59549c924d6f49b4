//go:build ignore

// Zero-install entry point: `go run magefile.go <target>` runs any target
// with nothing installed but Go (`go tool mage <target>` works too).
package main

import (
	"os"

	"github.com/magefile/mage/mage"
)

func main() { os.Exit(mage.Main()) }
