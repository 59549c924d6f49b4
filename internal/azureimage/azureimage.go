// Package azureimage publishes the azure artifact (a fixed VHD) as an Azure
// managed image: it uploads the VHD as a page blob (all-zero ranges skipped,
// ranges in parallel, resumed after an interruption, skipped when the blob
// already holds the same sha256), makes a managed disk from the blob and an
// image from the disk, and waits for both within a time limit. It has the
// shape of every upload package (README, Layout): Settings,
// SettingsFromEnv, Options, Source, Publish and Result.
package azureimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/redact"
)

// Provider is the provider whose artifact this upload takes.
const Provider = "azure"

// Settings are the site's choices for Publish, from the environment
// (SettingsFromEnv).
type Settings struct {
	SubscriptionID string // the subscription of the disk and the image
	ResourceGroup  string // must exist
	Location       string // region of the disk and the image, e.g. westeurope
	StorageAccount string // must exist, in ResourceGroup
	Container      string // blob container, created if missing; empty is "images"
	// BlobEndpoint is the storage account's blob service URL; empty is
	// https://<StorageAccount>.blob.core.windows.net.
	BlobEndpoint string
	// ResourceManagerEndpoint is the ARM URL; empty is Azure's public cloud.
	ResourceManagerEndpoint string
	Timeout                 time.Duration // bounds each of disk and image creation; 0 is 1h
}

// Options tune how Publish talks to Azure; the zero value is fine.
type Options struct {
	// Credential signs every request; nil is azidentity's
	// DefaultAzureCredential (environment, workload or managed identity, az login).
	Credential azcore.TokenCredential
	// SharedKey, if set, signs the blob requests with the storage account key
	// instead of Credential (Azurite in tests).
	SharedKey *azblob.SharedKeyCredential
	// Client is the transport and retry policy of every client (tests); a
	// zero Retry.TryTimeout is 2 minutes per try.
	Client       policy.ClientOptions
	Concurrency  int           // page ranges uploaded at once; 0 is 4 (4 MiB of memory each)
	PollInterval time.Duration // how often to ask about disk and image creation; 0 is 10s
	Out          io.Writer     // progress lines; nil is silent
}

// defaultTryTimeout bounds each try of a request to Azure when
// Options.Client.Retry.TryTimeout is 0: the SDK has no bound by default, so
// a connection that stalls would hang upload:azure for good. A 4 MiB page
// write needs 35 KB/s to finish within it.
var defaultTryTimeout = 2 * time.Minute

// client is o.Client with a bound on each try of a request.
func (o Options) client() policy.ClientOptions {
	c := o.Client
	if c.Retry.TryTimeout == 0 {
		c.Retry.TryTimeout = defaultTryTimeout
	}
	return c
}

// Metadata keys of the blob. MetaSHA256 is set only once every page is
// written; MetaUploading holds the sha256 of the VHD being written while an
// upload is under way, so a re-run can resume it.
const (
	MetaSHA256    = "sha256"
	MetaUploading = "uploading_sha256"
)

// DefaultContainer is the blob container when AZURE_STORAGE_CONTAINER is unset.
const DefaultContainer = "images"

// SettingsFromEnv reads the AZURE_* variables (envvar's table). The site has
// no Azure settings yet; it is there for the shape every upload has.
func SettingsFromEnv(site config.Site, getenv func(string) string) (Settings, error) {
	s := Settings{
		SubscriptionID:          envvar.AzureSubscriptionID.Get(getenv),
		ResourceGroup:           envvar.AzureResourceGroup.Get(getenv),
		Location:                envvar.AzureLocation.Get(getenv),
		StorageAccount:          envvar.AzureStorageAccount.Get(getenv),
		Container:               envvar.AzureStorageContainer.Or(getenv, DefaultContainer),
		BlobEndpoint:            envvar.AzureStorageBlobEndpoint.Get(getenv),
		ResourceManagerEndpoint: envvar.AzureResourceManagerEndpoint.Get(getenv),
	}
	var err error
	s.Timeout, err = envvar.AzureImageTimeout.Or(getenv, time.Hour)
	return s, err
}

// missing names every required setting that is empty, with an example.
func (s Settings) missing() []string {
	var out []string
	for _, f := range []struct{ value, name, example string }{
		{s.SubscriptionID, envvar.AzureSubscriptionID.Name, "00000000-0000-0000-0000-000000000000 (az account show --query id)"},
		{s.ResourceGroup, envvar.AzureResourceGroup.Name, "images-rg"},
		{s.Location, envvar.AzureLocation.Name, "westeurope"},
		{s.StorageAccount, envvar.AzureStorageAccount.Name, "goldimages01"},
	} {
		if f.value == "" {
			out = append(out, fmt.Sprintf("%s (e.g. %s=%s)", f.name, f.name, f.example))
		}
	}
	return out
}

// Source is the file Publish reads, relative to cfg.Root:
// artifacts/<version>/<vm_name>/azure/<vm_name>-<version>_azure.vhd.
func Source(cfg *config.Config) string {
	return cfg.Tree().Artifact(Provider, "vhd")
}

// Result is what Publish did.
type Result struct {
	BlobURL     string
	Skipped     bool // the blob was already there with the same sha256
	Disk, Image string
}

// String is the line upload:azure prints:
// "<image id> (disk <disk id>) from <blob URL>, upload skipped: <bool>".
func (r Result) String() string {
	return fmt.Sprintf("%s (disk %s) from %s, upload skipped: %v", r.Image, r.Disk, redact.URL(r.BlobURL), r.Skipped)
}

// Publish uploads cfg's VHD (Source) as a page blob and makes a managed
// disk and an image named <vm_name>-<version>_azure (config.ImageName) from it, tagged vm_name,
// version and sha256. Disk and image already there with the VHD's sha256
// are kept.
func Publish(ctx context.Context, cfg *config.Config, s Settings, o Options) (_ Result, err error) {
	defer func() { err = redact.Error(err) }() // an endpoint's credentials are never printed
	rel := Source(cfg)
	file := filepath.Join(cfg.Root, rel)
	var problems []string
	if m := s.missing(); len(m) > 0 {
		problems = append(problems, "set "+strings.Join(m, ", "))
	}
	sum, err := checksum.Listed(ctx, file)
	if errors.Is(err, os.ErrNotExist) {
		problems = append(problems, fmt.Sprintf("artifact %q not found: build it first: ONLY=azure mage build:os %s", rel, cfg.OS.VMName))
	} else if err != nil {
		return Result{}, fmt.Errorf("publishing to Azure: %w", err)
	} else if err := FixedVHD(file); err != nil {
		return Result{}, fmt.Errorf("publishing to Azure: %w", err)
	}
	gen, err := HyperVGeneration(string(cfg.Firmware()))
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return Result{}, fmt.Errorf("publishing to Azure: %s", strings.Join(problems, "; "))
	}
	if s.Container == "" {
		s.Container = DefaultContainer
	}
	if o.Credential == nil {
		cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: o.client()})
		if err != nil {
			return Result{}, fmt.Errorf("publishing to Azure: %w", oneLine(err))
		}
		o.Credential = cred
	}
	arm, err := newARM(s, o)
	if err != nil {
		return Result{}, err
	}
	if err := arm.checkCredentials(ctx); err != nil {
		return Result{}, err
	}
	if err := arm.checkPlace(ctx); err != nil {
		return Result{}, err
	}
	containerURL, err := ContainerURL(s)
	if err != nil {
		return Result{}, err
	}
	name := filepath.Base(file) // <vm_name>-<version>_azure.vhd
	blobURL := containerURL + "/" + name
	res := Result{BlobURL: blobURL}
	img := imageSpec{
		name:    cfg.ImageName(Provider),
		blobURL: blobURL,
		gen:     gen,
		tags:    map[string]string{"vm_name": cfg.OS.VMName, "version": cfg.Site.Version, "sha256": sum},
	}
	if err := arm.checkNames(ctx, img); err != nil {
		return res, err
	}
	res.Skipped, err = Upload(ctx, file, sum, containerURL, name, o)
	if err != nil {
		return res, err
	}
	res.Disk, err = arm.disk(ctx, img)
	if err != nil {
		return res, err
	}
	res.Image, err = arm.image(ctx, img, res.Disk)
	return res, err
}

// HyperVGeneration maps the build's firmware to the generation Azure boots
// the image with: "bios" (or empty) is V1, "uefi" V2.
func HyperVGeneration(firmware string) (string, error) {
	switch strings.ToLower(firmware) {
	case "", "bios":
		return "V1", nil
	case "uefi":
		return "V2", nil
	}
	return "", fmt.Errorf("firmware %q: want bios or uefi", firmware)
}

// ContainerURL is the URL of s's container: <endpoint>/<container>.
func ContainerURL(s Settings) (string, error) {
	ep := s.BlobEndpoint
	if ep == "" {
		ep = "https://" + s.StorageAccount + ".blob.core.windows.net"
	}
	u, err := url.Parse(ep)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("reading %s=%q: want a URL such as https://%s.blob.core.windows.net", envvar.AzureStorageBlobEndpoint.Name, ep, s.StorageAccount)
	}
	container := s.Container
	if container == "" {
		container = DefaultContainer
	}
	return strings.TrimSuffix(ep, "/") + "/" + container, nil
}

// cloudFor is the cloud configuration of an ARM endpoint: Azure's known
// clouds by their endpoint, else the endpoint as its own token audience.
func cloudFor(endpoint string) cloud.Configuration {
	if endpoint == "" {
		return cloud.AzurePublic
	}
	for _, c := range []cloud.Configuration{cloud.AzurePublic, cloud.AzureGovernment, cloud.AzureChina} {
		if strings.TrimSuffix(c.Services[cloud.ResourceManager].Endpoint, "/") == strings.TrimSuffix(endpoint, "/") {
			return c
		}
	}
	c := cloud.AzurePublic
	c.Services = map[cloud.ServiceName]cloud.ServiceConfiguration{
		cloud.ResourceManager: {Endpoint: endpoint, Audience: endpoint},
	}
	return c
}
