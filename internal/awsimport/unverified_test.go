package awsimport

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"gold-standard-images/internal/uploadtest"
)

func TestAnUnverifiedArtifactIsRefusedBeforeAnythingIsSent(t *testing.T) {
	cfg, _ := testConfig(t, 1<<10)
	awsCfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(uploadtest.Nowhere), Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}
	uploadtest.RefusesUnverified(t, cfg, Source(cfg), func() error {
		_, err := Publish(context.Background(), cfg, Settings{Bucket: bucket}, Options{AWS: &awsCfg})
		return err
	})
}
