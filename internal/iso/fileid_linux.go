package iso

import (
	"os"
	"syscall"
)

// fileID is the inode and status change time (ns) of a file.
func fileID(info os.FileInfo) (inode uint64, ctimeNs int64) {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Ino, st.Ctim.Nano()
	}
	return 0, 0
}
