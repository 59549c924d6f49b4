//go:build mage

package main

import "github.com/magefile/mage/mg"

// Artifacts converts, checksums and verifies the files builds produce.
type Artifacts mg.Namespace

// Upload publishes artifacts to registries and clouds.
type Upload mg.Namespace
