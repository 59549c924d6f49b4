package pipeline

import (
	"regexp"
	"strings"

	"github.com/bitfield/script"
)

// whyLines is how many of Packer's error lines a failed build quotes.
const whyLines = 3

// packerErrorLine matches the lines of a Packer log that say why a build
// failed: Packer's closing list of errors ("--> qemu.gcp: Timeout waiting
// for SSH."), its configuration errors ("Error: ...") and the failed tasks
// of the Ansible provisioner ("fatal: [default]: FAILED! ..."), each
// after the -timestamp-ui prefix.
var packerErrorLine = regexp.MustCompile(`^(?:\d{4}-\d\d-\d\dT[0-9:.]+Z: )?\s*(?:--> \S+: |Error: |(?:\S+: )?fatal: \[)`)

// timestamp is Packer's -timestamp-ui prefix.
var timestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT[0-9:.]+Z: \s*`)

// packerErrors returns the last lines of the Packer log at path that say
// why its build failed, without timestamps; none when it has none (a
// build stopped by its timeout, or a missing log).
func packerErrors(path string) []string {
	lines, err := script.File(path).MatchRegexp(packerErrorLine).ReplaceRegexp(timestamp, "").Last(whyLines).Slice()
	if err != nil {
		return nil
	}
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return lines
}
