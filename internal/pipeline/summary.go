package pipeline

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Status is the outcome of one provider's Packer build.
type Status string

// The outcomes of a Packer build.
const (
	OK        Status = "ok"
	Failed    Status = "failed"
	UpToDate  Status = "skipped, up to date"
	Cancelled Status = "cancelled"
	NotRun    Status = "not run"
)

// Result is one provider's Packer build as the summary shows it.
type Result struct {
	Provider string
	Status   Status
	Duration time.Duration // 0 when Packer did not run
	Log      string        // build log, relative to the root
	Err      error         // why it failed
	Why      []string      // Packer's own last error lines from the log, when it failed
}

// writeSummary prints the table of results: provider, result, time, log.
func writeSummary(w io.Writer, results []Result) {
	fmt.Fprintln(w, ">> summary")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "   PROVIDER\tRESULT\tTIME\tLOG")
	for _, r := range results {
		took, log := "-", "-"
		if r.Duration > 0 {
			took = roundDuration(r.Duration).String()
		}
		if r.Status == OK || r.Status == Failed || r.Status == Cancelled {
			log = r.Log
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\n", r.Provider, r.Status, took, log)
	}
	tw.Flush()
	for _, r := range results {
		if r.Status == Failed && len(r.Why) > 0 {
			fmt.Fprintf(w, "   %s failed, says Packer (%s):\n", r.Provider, r.Log)
			for _, line := range r.Why {
				fmt.Fprintf(w, "      %s\n", line)
			}
		}
	}
}
