//go:build !unix

package run

import (
	"os/exec"
	"time"
)

func setGroup(cmd *exec.Cmd) {}

func watchGroup(int, time.Duration) func() { return func() {} }

func dieWithParent(*exec.Cmd) {}

func killGroup(pgid int) {}
