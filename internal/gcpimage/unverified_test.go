package gcpimage

import (
	"context"
	"testing"

	"golang.org/x/oauth2"

	"gold-standard-images/internal/uploadtest"
)

func TestAnUnverifiedArtifactIsRefusedBeforeAnythingIsSent(t *testing.T) {
	cfg := testConfig(t, testData(1, 64<<10))
	s := Settings{Project: testProject, Bucket: testBucket, ComputeEndpoint: uploadtest.Nowhere + "/compute/v1/"}
	t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1")
	uploadtest.RefusesUnverified(t, cfg, Source(cfg), func() error {
		_, err := Publish(context.Background(), cfg, s, Options{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "test-token"})})
		return err
	})
}
