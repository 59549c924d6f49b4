package azureimage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/uploadtest"
)

// vhd is a test disk: data at [0, 1 MiB) and [5 MiB, 5 MiB+300 KiB), a
// 512-byte footer at the end, zeros elsewhere; dataBytes of it are data.
const (
	vhdSize   = 24<<20 + 512
	dataBytes = 1<<20 + 300<<10 + 512
)

func makeVHD(seed uint64) []byte {
	b := make([]byte, vhdSize)
	r := rand.New(rand.NewPCG(seed, 1))
	fill := func(from, to int) {
		for i := from; i < to; i++ {
			b[i] = byte(r.IntN(255) + 1) // never zero, so no data page is all zero
		}
	}
	fill(0, 1<<20)
	fill(5<<20, 5<<20+300<<10)
	fill(vhdSize-512, vhdSize)
	fixedFooter(b)
	return b
}

// tinyVHD is a fixed VHD of one zero page, for the tests that never get
// to send it.
func tinyVHD() []byte {
	b := make([]byte, 1024)
	fixedFooter(b)
	return b
}

// fixedFooter makes the last page of b a fixed VHD's footer: the cookie
// and disk type 2 (the rest of it stays as it was).
func fixedFooter(b []byte) {
	footer := b[len(b)-512:]
	copy(footer, "conectix")
	binary.BigEndian.PutUint32(footer[60:], 2)
}

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// testConfig is a configuration rooted in a temporary folder holding data
// as its azure artifact.
func testConfig(t *testing.T, data []byte) *config.Config {
	t.Helper()
	cfg := uploadtest.Config(t)
	if data != nil {
		writeVHD(t, cfg, data)
	}
	return cfg
}

func writeVHD(t *testing.T, cfg *config.Config, data []byte) string {
	return uploadtest.WriteArtifact(t, cfg, Source(cfg), data)
}

func testSettings(arm *fakeARM, blobEndpoint string) Settings {
	return Settings{SubscriptionID: testSub, ResourceGroup: testGroup, Location: "westeurope", StorageAccount: devAccount,
		Container: "images", BlobEndpoint: blobEndpoint, ResourceManagerEndpoint: arm.URL, Timeout: time.Minute}
}

func TestPublishSendsOnlyDataPagesMakesDiskAndImageAndRerunSendsNothing(t *testing.T) {
	azurite := startAzurite(t)
	proxy := newCountingProxy(t, azurite)
	arm := newFakeARM(t)
	arm.faults["PUT disk"] = []int{http.StatusTooManyRequests, http.StatusServiceUnavailable}
	arm.faults["GET operation"] = []int{http.StatusInternalServerError}
	data := makeVHD(1)
	cfg := testConfig(t, data)
	s := testSettings(arm, proxy.URL+"/"+devAccount)
	var out bytes.Buffer
	o := arm.options(devOptions(t))
	o.Out = &out

	res, err := Publish(context.Background(), cfg, s, o)
	if err != nil {
		t.Fatalf("Publish: %v\n%s", err, out.String())
	}
	name := "CentOS-7.9.2009-1.0.0_azure.vhd"
	got, meta := blobBytes(t, azurite, "images", name)
	if !bytes.Equal(got, data) {
		t.Errorf("downloaded blob (%d bytes) differs from the VHD (%d bytes)", len(got), len(data))
	}
	if meta[MetaSHA256] != sumOf(data) || meta[MetaUploading] != "" {
		t.Errorf("blob metadata %v, want only sha256=%s", meta, sumOf(data))
	}
	if n := proxy.pageBytes.Load(); n != dataBytes {
		t.Errorf("page writes sent %d bytes, want the %d bytes of data pages of a %d-byte VHD", n, dataBytes, vhdSize)
	}
	wantDisk := "/subscriptions/" + testSub + "/resourceGroups/" + testGroup + "/providers/Microsoft.Compute/disks/CentOS-7.9.2009-1.0.0_azure"
	wantImage := strings.Replace(wantDisk, "/disks/", "/images/", 1)
	if res.Skipped || res.Disk != wantDisk || res.Image != wantImage || res.BlobURL != s.BlobEndpoint+"/images/"+name {
		t.Errorf("result %+v", res)
	}
	disk := arm.puts["disk"]
	dp := disk["properties"].(map[string]any)
	cd := dp["creationData"].(map[string]any)
	tags := disk["tags"].(map[string]any)
	if cd["createOption"] != "Import" || cd["sourceUri"] != res.BlobURL || !strings.HasSuffix(cd["storageAccountId"].(string), "/storageAccounts/"+devAccount) ||
		dp["hyperVGeneration"] != "V1" || dp["osType"] != "Linux" || disk["location"] != "westeurope" ||
		tags["vm_name"] != "CentOS-7.9.2009" || tags["version"] != "1.0.0" || tags["sha256"] != sumOf(data) {
		t.Errorf("disk PUT body %v", disk)
	}
	image := arm.puts["image"]
	ip := image["properties"].(map[string]any)
	osDisk := ip["storageProfile"].(map[string]any)["osDisk"].(map[string]any)
	if osDisk["managedDisk"].(map[string]any)["id"] != wantDisk || osDisk["osState"] != "Generalized" || ip["hyperVGeneration"] != "V1" || image["tags"].(map[string]any)["sha256"] != sumOf(data) {
		t.Errorf("image PUT body %v", image)
	}
	for _, want := range []string{"creating disk CentOS-7.9.2009-1.0.0_azure", "image CentOS-7.9.2009-1.0.0_azure created", "azure: " + s.BlobEndpoint} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lines do not say %q:\n%s", want, out.String())
		}
	}

	sent, puts := proxy.pageBytes.Load(), arm.putCount
	res, err = Publish(context.Background(), cfg, s, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Skipped || proxy.pageBytes.Load() != sent || arm.putCount != puts {
		t.Errorf("second run: skipped=%v, %d more page bytes, %d more PUTs; want nothing sent", res.Skipped, proxy.pageBytes.Load()-sent, arm.putCount-puts)
	}
}

func TestACancelledUploadNeverLooksFinishedAndCompletesOnRerun(t *testing.T) {
	azurite := startAzurite(t)
	proxy := newCountingProxy(t, azurite)
	data := makeVHD(2)
	cfg := testConfig(t, data)
	file := filepath.Join(cfg.Root, Source(cfg))
	containerURL := proxy.URL + "/" + devAccount + "/images"
	o := devOptions(t)
	o.Concurrency = 1
	ctx, cancel := context.WithCancel(context.Background())
	proxy.afterWrite = func(n int64) {
		if n == 1 {
			cancel()
		}
	}
	_, err := Upload(ctx, file, sumOf(data), containerURL, "disk.vhd", o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted upload: err = %v, want context.Canceled", err)
	}
	first := proxy.pageBytes.Load()
	_, meta := blobBytes(t, azurite, "images", "disk.vhd")
	if meta[MetaSHA256] != "" || meta[MetaUploading] != sumOf(data) {
		t.Fatalf("interrupted blob's metadata %v: want no sha256 and uploading_sha256=%s", meta, sumOf(data))
	}
	proxy.afterWrite = nil
	skipped, err := Upload(context.Background(), file, sumOf(data), containerURL, "disk.vhd", o)
	if err != nil || skipped {
		t.Fatalf("re-run: skipped=%v err=%v", skipped, err)
	}
	if again := proxy.pageBytes.Load() - first; first == 0 || again != dataBytes-first {
		t.Errorf("first run sent %d bytes, re-run %d; want the re-run to send only the remaining %d", first, again, dataBytes-first)
	}
	got, meta := blobBytes(t, azurite, "images", "disk.vhd")
	if !bytes.Equal(got, data) || meta[MetaSHA256] != sumOf(data) || meta[MetaUploading] != "" {
		t.Errorf("resumed blob: identical=%v, metadata %v", bytes.Equal(got, data), meta)
	}
}

func TestPagesGoInParallelNeverMoreThanConcurrencyAtOnce(t *testing.T) {
	azurite := startAzurite(t)
	proxy := newCountingProxy(t, azurite)
	proxy.hold = 50 * time.Millisecond
	data := make([]byte, 8*maxWrite)
	for i := range 8 { // one page of data in each 4 MiB range
		data[i*maxWrite] = 1
	}
	cfg := testConfig(t, data)
	o := devOptions(t)
	o.Concurrency = 3
	if _, err := Upload(context.Background(), filepath.Join(cfg.Root, Source(cfg)), sumOf(data), proxy.URL+"/"+devAccount+"/par", "p.vhd", o); err != nil {
		t.Fatal(err)
	}
	if n, most := proxy.pageWrites.Load(), proxy.maxFlight.Load(); n != 8 || most < 2 || most > 3 {
		t.Errorf("%d page writes, at most %d at once; want 8, 2 or 3 at once with Concurrency 3", n, most)
	}
	if got, _ := blobBytes(t, azurite, "par", "p.vhd"); !bytes.Equal(got, data) {
		t.Error("blob differs from the VHD")
	}
}

func TestUploadStartsOverWhenTheVHDChanged(t *testing.T) {
	azurite := startAzurite(t)
	proxy := newCountingProxy(t, azurite)
	cfg := testConfig(t, makeVHD(3))
	containerURL := proxy.URL + "/" + devAccount + "/other"
	o := devOptions(t)
	for i, data := range [][]byte{makeVHD(3), makeVHD(4), makeVHD(4)} {
		file := writeVHD(t, cfg, data)
		before := proxy.pageBytes.Load()
		skipped, err := Upload(context.Background(), file, sumOf(data), containerURL, "d.vhd", o)
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		if want := i == 2; skipped != want {
			t.Errorf("upload %d: skipped=%v, want %v", i, skipped, want)
		}
		if sent, want := proxy.pageBytes.Load()-before, map[bool]int64{false: dataBytes, true: 0}[skipped]; sent != want {
			t.Errorf("upload %d sent %d bytes, want %d", i, sent, want)
		}
		if got, _ := blobBytes(t, azurite, "other", "d.vhd"); !bytes.Equal(got, data) {
			t.Errorf("upload %d: blob differs from the VHD", i)
		}
	}
}

func TestPublishStopsEarlyWithOneClearLine(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, arm *fakeARM, cfg *config.Config, s *Settings, o *Options)
		want    string
	}{
		{"every missing variable and the missing artifact named at once", func(t *testing.T, arm *fakeARM, cfg *config.Config, s *Settings, o *Options) {
			*s = Settings{}
			os.Remove(filepath.Join(cfg.Root, Source(cfg)))
		}, `publishing to Azure: set AZURE_SUBSCRIPTION_ID (e.g. AZURE_SUBSCRIPTION_ID=00000000-0000-0000-0000-000000000000 (az account show --query id)), AZURE_RESOURCE_GROUP (e.g. AZURE_RESOURCE_GROUP=images-rg), AZURE_LOCATION (e.g. AZURE_LOCATION=westeurope), AZURE_STORAGE_ACCOUNT (e.g. AZURE_STORAGE_ACCOUNT=goldimages01); artifact "artifacts/1.0.0/CentOS-7.9.2009/azure/CentOS-7.9.2009-1.0.0_azure.vhd" not found: build it first: ONLY=azure mage build:os CentOS-7.9.2009`},
		{"unknown firmware", func(t *testing.T, arm *fakeARM, cfg *config.Config, s *Settings, o *Options) {
			cfg.OS.Firmware = "coreboot"
		}, `publishing to Azure: firmware "coreboot": want bios or uefi`},
		{"resource group missing", func(t *testing.T, arm *fakeARM, cfg *config.Config, s *Settings, o *Options) {
			arm.noGroup = true
		}, `publishing to Azure: resource group "images-rg" does not exist in subscription "00000000-1111-2222-3333-444444444444": create it with: az group create --name images-rg --location westeurope`},
		{"storage account missing", func(t *testing.T, arm *fakeARM, cfg *config.Config, s *Settings, o *Options) {
			arm.noAccount = true
		}, `publishing to Azure: storage account "devstoreaccount1" does not exist in resource group "images-rg": create it with: az storage account create --name devstoreaccount1 --resource-group images-rg --location westeurope --sku Standard_LRS`},
		{"resource group not readable", func(t *testing.T, arm *fakeARM, cfg *config.Config, s *Settings, o *Options) {
			arm.faults["GET group"] = []int{http.StatusForbidden}
		}, `publishing to Azure: reading resource group "images-rg": HTTP 403 AuthorizationFailed: The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.Compute/groups/write' over scope '/subscriptions/00000000-1111-2222-3333-444444444444'. (the credentials need a role such as Contributor on resource group "images-rg")`},
		{"token the resource manager refuses", func(t *testing.T, arm *fakeARM, cfg *config.Config, s *Settings, o *Options) {
			o.Credential = staticToken("stale-token")
		}, `publishing to Azure: reading resource group "images-rg": HTTP 401 InvalidAuthenticationToken: The access token is invalid.`},
		{"expired or wrong credentials", func(t *testing.T, arm *fakeARM, cfg *config.Config, s *Settings, o *Options) {
			o.Credential = failingToken{&azidentity.AuthenticationFailedError{}}
		}, `publishing to Azure: getting a token: Azure refused the credentials (expired or wrong: run az login, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, or run where a managed identity is assigned)`},
		{"a client secret Entra ID refuses", func(t *testing.T, arm *fakeARM, cfg *config.Config, s *Settings, o *Options) {
			o.Credential = failingToken{errors.New("ClientSecretCredential: authentication failed\nPOST https://login.microsoftonline.com/t/oauth2/v2.0/token\nRESPONSE 401\nAADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID")}
		}, `publishing to Azure: getting a token: Azure refused the credentials (AADSTS7000215; expired or wrong: run az login, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, or run where a managed identity is assigned)`},
		{"an image of that name from another VHD", func(t *testing.T, arm *fakeARM, cfg *config.Config, s *Settings, o *Options) {
			arm.put("image", "CentOS-7.9.2009-1.0.0_azure", "0123", "Succeeded")
		}, `publishing to Azure: image "CentOS-7.9.2009-1.0.0_azure" exists but was made from another VHD (sha256 "0123"); delete it (az image delete --resource-group images-rg --name CentOS-7.9.2009-1.0.0_azure) or publish another version`},
		{"no credentials anywhere", func(t *testing.T, arm *fakeARM, cfg *config.Config, s *Settings, o *Options) {
			o.Credential = failingToken{errors.New("DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n\tEnvironmentCredential: missing environment variable AZURE_TENANT_ID")}
		}, `publishing to Azure: getting a token: no Azure credentials found that work (tried the environment, workload and managed identity, az and azd): run az login, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, or run where a managed identity is assigned`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arm := newFakeARM(t)
			cfg := testConfig(t, tinyVHD())
			s := testSettings(arm, "http://127.0.0.1:1/"+devAccount) // never reached
			o := arm.options(Options{Credential: staticToken("test-token")})
			tt.prepare(t, arm, cfg, &s, &o)
			_, err := Publish(context.Background(), cfg, s, o)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant  %s", err, tt.want)
			}
			if arm.putCount != 0 {
				t.Errorf("%d PUTs before the checks passed", arm.putCount)
			}
		})
	}
}

func TestDiskAndImage(t *testing.T) {
	img := imageSpec{name: "CentOS-7.9.2009-1.0.0_azure", blobURL: "https://acc.blob.core.windows.net/images/x.vhd", gen: "V2",
		tags: map[string]string{"sha256": "abc", "vm_name": "CentOS-7.9.2009", "version": "1.0.0"}}
	tests := []struct {
		name     string
		prepare  func(arm *fakeARM, s *Settings)
		wantPuts int
		wantErr  string
	}{
		{"throttled and failing calls are retried", func(arm *fakeARM, s *Settings) {
			arm.faults["PUT disk"] = []int{http.StatusTooManyRequests, http.StatusBadGateway}
			arm.faults["PUT image"] = []int{http.StatusServiceUnavailable}
			arm.faults["GET operation"] = []int{http.StatusTooManyRequests, http.StatusInternalServerError}
		}, 2, ""},
		{"disk and image of this VHD already there are kept", func(arm *fakeARM, s *Settings) {
			arm.put("disk", img.name, "abc", "Succeeded")
			arm.put("image", img.name, "abc", "Succeeded")
		}, 0, ""},
		{"a failed disk of this VHD is made again", func(arm *fakeARM, s *Settings) {
			arm.put("disk", img.name, "abc", "Failed")
		}, 2, ""},
		{"a disk of another VHD is refused", func(arm *fakeARM, s *Settings) {
			arm.put("disk", img.name, "def", "Succeeded")
		}, 0, `publishing to Azure: disk "CentOS-7.9.2009-1.0.0_azure" exists but was made from another VHD (sha256 "def"); delete it (az disk delete --resource-group images-rg --name CentOS-7.9.2009-1.0.0_azure) or publish another version`},
		{"no permission to create the disk", func(arm *fakeARM, s *Settings) {
			arm.faults["PUT disk"] = []int{http.StatusForbidden}
		}, 0, `publishing to Azure: creating disk "CentOS-7.9.2009-1.0.0_azure": HTTP 403 AuthorizationFailed: The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.Compute/disks/write' over scope '/subscriptions/00000000-1111-2222-3333-444444444444'. (the credentials need a role such as Contributor on resource group "images-rg")`},
		{"a failed operation says Azure's reason", func(arm *fakeARM, s *Settings) {
			arm.opFail = "InvalidVhd"
		}, 1, `publishing to Azure: creating disk "CentOS-7.9.2009-1.0.0_azure": HTTP 200 InvalidVhd: the VHD is not a fixed VHD`},
		{"an operation past the timeout", func(arm *fakeARM, s *Settings) {
			arm.forever = true
			s.Timeout = 50 * time.Millisecond
		}, 1, `publishing to Azure: disk "CentOS-7.9.2009-1.0.0_azure" not done after 50ms (AZURE_IMAGE_TIMEOUT sets the limit); it goes on in Azure: az disk show --resource-group images-rg --name CentOS-7.9.2009-1.0.0_azure`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arm := newFakeARM(t)
			s := testSettings(arm, "")
			tt.prepare(arm, &s)
			a, err := newARM(s, arm.options(Options{Credential: staticToken("test-token")}))
			if err != nil {
				t.Fatal(err)
			}
			if err := a.checkPlace(context.Background()); err != nil {
				t.Fatal(err)
			}
			disk, err := a.disk(context.Background(), img)
			var image string
			if err == nil {
				image, err = a.image(context.Background(), img, disk)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v\nwant  %s", err, tt.wantErr)
				}
			} else if err != nil || !strings.HasSuffix(disk, "/disks/"+img.name) || !strings.HasSuffix(image, "/images/"+img.name) {
				t.Fatalf("disk %q, image %q, err %v", disk, image, err)
			}
			if arm.putCount != tt.wantPuts {
				t.Errorf("%d PUTs, want %d", arm.putCount, tt.wantPuts)
			}
			if tt.wantPuts == 2 && tt.wantErr == "" {
				if g := arm.puts["image"]["properties"].(map[string]any)["hyperVGeneration"]; g != "V2" {
					t.Errorf("image hyperVGeneration %v, want V2 for UEFI", g)
				}
			}
		})
	}
}

func TestHyperVGenerationFollowsTheFirmware(t *testing.T) {
	for _, tt := range []struct{ firmware, want, err string }{
		{"", "V1", ""}, {"bios", "V1", ""}, {"UEFI", "V2", ""}, {"efi", "", `firmware "efi": want bios or uefi`},
	} {
		got, err := HyperVGeneration(tt.firmware)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("HyperVGeneration(%q) = %q, %v; want %q, %q", tt.firmware, got, err, tt.want, tt.err)
		}
	}
}

func TestDataRunsSkipZeroPagesAndJoinShortGaps(t *testing.T) {
	page := func(n int) []byte { return bytes.Repeat([]byte{byte(n)}, pageSize) }
	zeros := func(bytes int) []byte { return make([]byte, bytes) }
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name  string
		chunk []byte
		want  []span
	}{
		{"all zero", zeros(8 * pageSize), nil},
		{"data at both ends, a long gap", join(page(1), zeros(mergeGap), page(2)), []span{{0, 512}, {512 + mergeGap, 1024 + mergeGap}}},
		{"a short gap stays inside the run", join(page(1), zeros(4*pageSize), page(2)), []span{{0, 6 * pageSize}}},
		{"leading zeros", join(zeros(2*pageSize), page(3)), []span{{1024, 1536}}},
	}
	for _, tt := range tests {
		if got := dataRuns(tt.chunk); !equalSpans(got, tt.want) {
			t.Errorf("%s: dataRuns = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func equalSpans(a, b []span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSpansCoverOnlyRangesInsideOneSpan(t *testing.T) {
	s := spans{{0, 1024}, {4096, 8192}}
	for _, tt := range []struct {
		start, end int64
		want       bool
	}{{0, 512, true}, {0, 1024, true}, {512, 1536, false}, {4096, 8192, true}, {5000, 6000, true}, {1024, 4096, false}, {8000, 9000, false}} {
		if got := s.covers(tt.start, tt.end); got != tt.want {
			t.Errorf("covers(%d, %d) = %v, want %v", tt.start, tt.end, got, tt.want)
		}
	}
}

func TestSettingsFromEnv(t *testing.T) {
	env := map[string]string{"AZURE_SUBSCRIPTION_ID": "sub", "AZURE_RESOURCE_GROUP": "rg", "AZURE_LOCATION": "westeurope",
		"AZURE_STORAGE_ACCOUNT": "acc", "AZURE_IMAGE_TIMEOUT": "90m", "AZURE_RESOURCE_MANAGER_ENDPOINT": "https://management.chinacloudapi.cn"}
	s, err := SettingsFromEnv(config.Defaults(), func(k string) string { return env[k] })
	want := Settings{SubscriptionID: "sub", ResourceGroup: "rg", Location: "westeurope", StorageAccount: "acc", Container: "images",
		ResourceManagerEndpoint: "https://management.chinacloudapi.cn", Timeout: 90 * time.Minute}
	if err != nil || s != want {
		t.Errorf("SettingsFromEnv = %+v, %v; want %+v", s, err, want)
	}
	if c := cloudFor(s.ResourceManagerEndpoint); !strings.Contains(c.ActiveDirectoryAuthorityHost, "chinacloudapi") {
		t.Errorf("the China endpoint gives cloud %+v", c)
	}
	env["AZURE_IMAGE_TIMEOUT"] = "soon"
	if _, err := SettingsFromEnv(config.Defaults(), func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), `AZURE_IMAGE_TIMEOUT="soon"`) {
		t.Errorf("bad timeout: err = %v", err)
	}
	if u, _ := ContainerURL(Settings{StorageAccount: "acc"}); u != "https://acc.blob.core.windows.net/images" {
		t.Errorf("default container URL %q", u)
	}
}

func TestResultStringIsTheLineUploadAzurePrints(t *testing.T) {
	r := Result{BlobURL: "https://acc.blob.core.windows.net/images/x.vhd", Skipped: true, Disk: "/d", Image: "/i"}
	if got, want := r.String(), "/i (disk /d) from https://acc.blob.core.windows.net/images/x.vhd, upload skipped: true"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestWithoutAnyCredentialsTheDefaultChainFailsInOneLine(t *testing.T) {
	for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_TOKEN_CREDENTIALS", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("PATH", t.TempDir()) // no az or azd to ask
	arm := newFakeARM(t)
	cfg := testConfig(t, tinyVHD())
	o := arm.options(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Publish(ctx, cfg, testSettings(arm, ""), o)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "publishing to Azure: getting a token: no Azure credentials found that work") {
		t.Fatalf("err = %v, want one line saying no credentials were found", err)
	}
}

// TestAStalledServerIsGivenUpOnNotWaitedForForever: the SDK bounds no try
// of a request by default, so a blob service that takes the request and
// never answers would hang the upload; each try is bounded instead.
func TestAStalledServerIsGivenUpOnNotWaitedForForever(t *testing.T) {
	defer func(d time.Duration) { defaultTryTimeout = d }(defaultTryTimeout)
	defaultTryTimeout = 200 * time.Millisecond
	stalled := uploadtest.StalledServer(t)
	cfg := testConfig(t, makeVHD(3))
	o := devOptions(t)
	o.Client.Retry = policy.RetryOptions{MaxRetries: 1, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond}
	uploadtest.GivesUp(t, func() error {
		_, err := Upload(t.Context(), filepath.Join(cfg.Root, Source(cfg)), sumOf(makeVHD(3)), stalled.URL+"/"+devAccount+"/images", "d.vhd", o)
		return err
	})
}
