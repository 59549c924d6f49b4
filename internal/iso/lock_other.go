//go:build !unix

package iso

import "os"

// tryLock does not lock where flock is missing: concurrent fetches of one
// ISO are then the user's to avoid.
func tryLock(*os.File) error { return nil }
