package checksum

import (
	"os"
	"syscall"
	"time"
)

// changeTime is the file's status change time (ctime): it moves on every
// write, rename or attribute change and cannot be set back by tools.
func changeTime(info os.FileInfo) time.Time {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Unix())
	}
	return info.ModTime()
}
