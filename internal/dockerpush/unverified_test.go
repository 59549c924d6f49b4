package dockerpush

import (
	"context"
	"testing"

	"gold-standard-images/internal/uploadtest"
)

func TestAnUnverifiedArtifactIsRefusedBeforeAnythingIsSent(t *testing.T) {
	cfg, _ := testConfig(t)
	uploadtest.RefusesUnverified(t, cfg, Source(cfg), func() error {
		_, err := Publish(context.Background(), cfg, Settings{Registry: "127.0.0.1:1", Namespace: "gold"}, Options{Backoff: fastRetry})
		return err
	})
}
