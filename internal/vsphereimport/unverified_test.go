package vsphereimport

import (
	"context"
	"testing"

	"gold-standard-images/internal/uploadtest"
)

func TestAnUnverifiedArtifactIsRefusedBeforeAnythingIsSent(t *testing.T) {
	cfg := testConfig(t, 8)
	uploadtest.RefusesUnverified(t, cfg, Source(cfg), func() error {
		_, err := Publish(context.Background(), cfg, settings(uploadtest.Nowhere+"/sdk"), Options{})
		return err
	})
}
