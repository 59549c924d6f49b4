package debian

// The golden files' -update flag, so that `go test ./... -update` runs
// this package's tests too instead of failing on an unknown flag.
import _ "gold-standard-images/internal/golden"
