//go:build !linux && !darwin

package iso

import "os"

// freeSpace is unknown where statfs is missing.
func freeSpace(string) (int64, bool) { return 0, false }

// allocated is the file's size where blocks are not told.
func allocated(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}
