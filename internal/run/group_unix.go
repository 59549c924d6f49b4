//go:build unix

package run

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// setGroup makes cmd the leader of a new process group and makes cancel
// interrupt the whole group.
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
}

// killGroup kills what is left of the process group pgid.
func killGroup(pgid int) { syscall.Kill(-pgid, syscall.SIGKILL) }

// watcherScript waits for process $1 to end, then interrupts the process
// group $2, waits up to $3 seconds for it to end and kills what is left.
const watcherScript = `p=$1 g=$2 t=$3
while kill -0 "$p" 2>/dev/null; do sleep 1; done
kill -INT "-$g" 2>/dev/null || exit 0
i=0
while [ "$i" -lt "$t" ] && kill -0 "-$g" 2>/dev/null; do sleep 1; i=$((i+1)); done
kill -KILL "-$g" 2>/dev/null
exit 0`

// watchGroup starts a watcher (a shell in a session of its own, so a
// terminal's signals spare it) that ends the process group pgid if this
// process dies first; the returned stop ends the watcher. Without a shell
// the group is unwatched.
func watchGroup(pgid int, grace time.Duration) (stop func()) {
	w := exec.Command("sh", "-c", watcherScript, "run-watcher", fmt.Sprint(os.Getpid()), fmt.Sprint(pgid), fmt.Sprint(int(grace.Seconds())))
	w.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := w.Start(); err != nil {
		return func() {}
	}
	return func() {
		w.Process.Kill()
		w.Wait()
	}
}
