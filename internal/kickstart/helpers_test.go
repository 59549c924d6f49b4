package kickstart

import (
	"os"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func chmod600(p string) error { return os.Chmod(p, 0o600) }
