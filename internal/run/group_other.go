//go:build !unix

package run

import "os/exec"

func setGroup(cmd *exec.Cmd) {}

func killGroup(pgid int) {}
