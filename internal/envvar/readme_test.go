package envvar

import (
	"fmt"
	"strings"
	"testing"

	"gold-standard-images/internal/golden"
)

// markdown is the README's environment table: one line per row of All.
func markdown() string {
	var b strings.Builder
	b.WriteString("| Variable | Takes | What it does |\n|---|---|---|\n")
	for _, r := range All {
		v := r.Variable()
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, r.Takes(), v.Doc)
	}
	return b.String()
}

func TestTheREADMEsEnvironmentTableIsTheTable(t *testing.T) {
	golden.CheckSection(t, "../../README.md", "<!-- env:start -->", "<!-- env:end -->", []byte(markdown()))
}
