package azureimage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"gold-standard-images/internal/diskcheck/disktest"
	"gold-standard-images/internal/uploadtest"
)

func TestAnUnverifiedArtifactIsRefusedBeforeAnythingIsSent(t *testing.T) {
	cfg := testConfig(t, makeVHD(1))
	s := Settings{SubscriptionID: testSub, ResourceGroup: testGroup, Location: "westeurope", StorageAccount: devAccount,
		Container: "images", BlobEndpoint: uploadtest.Nowhere, ResourceManagerEndpoint: uploadtest.Nowhere}
	uploadtest.RefusesUnverified(t, cfg, Source(cfg), func() error {
		_, err := Publish(context.Background(), cfg, s, Options{Credential: noCredential{}})
		return err
	})
}

// noCredential is a credential that gives no token: nothing may be sent.
type noCredential struct{}

func (noCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errors.New("the test's credential was asked for a token")
}

func TestOnlyAFixedVHDIsTaken(t *testing.T) {
	dir := t.TempDir()
	fixed, dynamic, raw := filepath.Join(dir, "fixed.vhd"), filepath.Join(dir, "dynamic.vhd"), filepath.Join(dir, "raw.vhd")
	disktest.QemuImg(t, "create", "-q", "-f", "vpc", "-o", "subformat=fixed,force_size", fixed, "4M")
	disktest.QemuImg(t, "create", "-q", "-f", "vpc", "-o", "subformat=dynamic", dynamic, "4M")
	if err := os.WriteFile(raw, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := FixedVHD(fixed); err != nil {
		t.Errorf("a fixed VHD made by qemu-img: %v", err)
	}
	for file, want := range map[string]string{dynamic: "disk type is 3 (dynamic)", raw: "no VHD footer"} {
		if err := FixedVHD(file); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), file) {
			t.Errorf("FixedVHD(%s) = %v, want an error naming it and %q", filepath.Base(file), err, want)
		}
	}
}
