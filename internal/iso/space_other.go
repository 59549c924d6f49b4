//go:build !linux && !darwin

package iso

// freeSpace is unknown where statfs is missing.
func freeSpace(string) (int64, bool) { return 0, false }
