package run

import (
	"os/exec"
	"syscall"
)

// dieWithParent asks the kernel to kill cmd when this process dies.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
