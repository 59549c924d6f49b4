package azureimage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"

	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/shorterr"
)

// armClient is the control plane: the resource group and storage account
// checks, the disk and the image.
type armClient struct {
	s        Settings
	o        Options
	cloud    cloud.Configuration
	generic  *arm.Client
	disks    *armcompute.DisksClient
	images   *armcompute.ImagesClient
	account  string // the storage account's resource id, from checkPlace
	endpoint string
}

func newARM(s Settings, o Options) (*armClient, error) {
	opts := &arm.ClientOptions{ClientOptions: o.Client}
	opts.Cloud = cloudFor(s.ResourceManagerEndpoint)
	a := &armClient{s: s, o: o, cloud: opts.Cloud, endpoint: strings.TrimSuffix(opts.Cloud.Services[cloud.ResourceManager].Endpoint, "/")}
	var err error
	if a.generic, err = arm.NewClient("azureimage", "v1.0.0", o.Credential, opts); err == nil {
		if a.disks, err = armcompute.NewDisksClient(s.SubscriptionID, o.Credential, opts); err == nil {
			a.images, err = armcompute.NewImagesClient(s.SubscriptionID, o.Credential, opts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("publishing to Azure: connecting to %s: %w", a.endpoint, oneLine(err))
	}
	return a, nil
}

// checkCredentials gets a token for the resource manager, so that missing or
// expired credentials stop Publish before anything else, in one line.
func (a *armClient) checkCredentials(ctx context.Context) error {
	audience := a.cloud.Services[cloud.ResourceManager].Audience
	_, err := a.o.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{strings.TrimSuffix(audience, "/") + "/.default"}})
	if err != nil {
		return fmt.Errorf("publishing to Azure: getting a token: %w", oneLine(err))
	}
	return nil
}

// checkPlace fails, with the az command that creates it, when the resource
// group or the storage account does not exist, and remembers the account's id.
func (a *armClient) checkPlace(ctx context.Context) error {
	s := a.s
	group := "/subscriptions/" + url.PathEscape(s.SubscriptionID) + "/resourceGroups/" + url.PathEscape(s.ResourceGroup)
	switch status, err := a.get(ctx, group, "2021-04-01"); {
	case status == http.StatusNotFound:
		return fmt.Errorf("publishing to Azure: resource group %q does not exist in subscription %q: create it with: az group create --name %s --location %s", s.ResourceGroup, s.SubscriptionID, s.ResourceGroup, s.Location)
	case err != nil:
		return fmt.Errorf("publishing to Azure: reading resource group %q: %w", s.ResourceGroup, a.explain(err))
	}
	a.account = group + "/providers/Microsoft.Storage/storageAccounts/" + url.PathEscape(s.StorageAccount)
	switch status, err := a.get(ctx, a.account, "2023-01-01"); {
	case status == http.StatusNotFound:
		return fmt.Errorf("publishing to Azure: storage account %q does not exist in resource group %q: create it with: az storage account create --name %s --resource-group %s --location %s --sku Standard_LRS", s.StorageAccount, s.ResourceGroup, s.StorageAccount, s.ResourceGroup, s.Location)
	case err != nil:
		return fmt.Errorf("publishing to Azure: reading storage account %q: %w", s.StorageAccount, a.explain(err))
	}
	return nil
}

// get reads an ARM resource, returning its HTTP status and an error for
// anything but 200.
func (a *armClient) get(ctx context.Context, id, apiVersion string) (int, error) {
	req, err := runtime.NewRequest(ctx, http.MethodGet, a.endpoint+id+"?api-version="+apiVersion)
	if err != nil {
		return 0, err
	}
	resp, err := a.generic.Pipeline().Do(req)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, runtime.NewResponseError(resp)
	}
	return http.StatusOK, nil
}

// explain is err in one line, with the role the credentials lack on a 403.
func (a *armClient) explain(err error) error {
	if statusOf(err) == http.StatusForbidden {
		return shorterr.New(fmt.Sprintf("%s (the credentials need a role such as Contributor on resource group %q)", oneLine(err), a.s.ResourceGroup), err)
	}
	return oneLine(err)
}

// imageSpec is what the disk and the image are made of and named.
type imageSpec struct {
	name, blobURL, gen string
	tags               map[string]string
}

func (img imageSpec) azureTags() map[string]*string {
	out := map[string]*string{}
	for k, v := range img.tags {
		out[k] = to.Ptr(v)
	}
	return out
}

// existing decides about a disk or image already there: keep it (true) when
// it has img's sha256 and was provisioned; create it again (false) when it
// has the sha256 but failed; refuse one made from another VHD.
func (a *armClient) existing(kind, name string, tags map[string]*string, state *string, img imageSpec) (bool, error) {
	have := ""
	if v := tags["sha256"]; v != nil {
		have = *v
	}
	if have != img.tags["sha256"] {
		return false, fmt.Errorf("publishing to Azure: %s %q exists but was made from another VHD (sha256 %q); delete it (az %s delete --resource-group %s --name %s) or publish another version", kind, name, have, kind, a.s.ResourceGroup, name)
	}
	return state != nil && *state == "Succeeded", nil
}

// checkNames fails before the upload when a disk or image named img.name
// exists from another VHD.
func (a *armClient) checkNames(ctx context.Context, img imageSpec) error {
	if got, err := a.disks.Get(ctx, a.s.ResourceGroup, img.name, nil); err == nil && got.Properties != nil {
		if _, err := a.existing("disk", img.name, got.Tags, got.Properties.ProvisioningState, img); err != nil {
			return err
		}
	} else if err != nil && statusOf(err) != http.StatusNotFound {
		return fmt.Errorf("publishing to Azure: reading disk %q: %w", img.name, a.explain(err))
	}
	if got, err := a.images.Get(ctx, a.s.ResourceGroup, img.name, nil); err == nil && got.Properties != nil {
		_, err := a.existing("image", img.name, got.Tags, got.Properties.ProvisioningState, img)
		return err
	} else if err != nil && statusOf(err) != http.StatusNotFound {
		return fmt.Errorf("publishing to Azure: reading image %q: %w", img.name, a.explain(err))
	}
	return nil
}

// disk makes the managed disk img.name from the blob, or keeps the one there.
func (a *armClient) disk(ctx context.Context, img imageSpec) (string, error) {
	got, err := a.disks.Get(ctx, a.s.ResourceGroup, img.name, nil)
	switch {
	case err == nil && got.Properties != nil:
		keep, err := a.existing("disk", img.name, got.Tags, got.Properties.ProvisioningState, img)
		if err != nil || keep {
			a.say("disk %s already there", img.name)
			return *got.ID, err
		}
	case err != nil && statusOf(err) != http.StatusNotFound:
		return "", fmt.Errorf("publishing to Azure: reading disk %q: %w", img.name, a.explain(err))
	}
	a.say("creating disk %s from %s", img.name, img.blobURL)
	poller, err := a.disks.BeginCreateOrUpdate(ctx, a.s.ResourceGroup, img.name, armcompute.Disk{
		Location: to.Ptr(a.s.Location),
		Tags:     img.azureTags(),
		SKU:      &armcompute.DiskSKU{Name: to.Ptr(armcompute.DiskStorageAccountTypesStandardLRS)},
		Properties: &armcompute.DiskProperties{
			CreationData: &armcompute.CreationData{
				CreateOption:     to.Ptr(armcompute.DiskCreateOptionImport),
				SourceURI:        to.Ptr(img.blobURL),
				StorageAccountID: to.Ptr(a.account),
			},
			OSType:           to.Ptr(armcompute.OperatingSystemTypesLinux),
			HyperVGeneration: to.Ptr(armcompute.HyperVGeneration(img.gen)),
		},
	}, nil)
	if err != nil {
		return "", fmt.Errorf("publishing to Azure: creating disk %q: %w", img.name, a.explain(err))
	}
	res, err := wait(ctx, poller, a, "disk", img.name)
	if err != nil {
		return "", err
	}
	return *res.ID, nil
}

// image makes the image img.name from the disk, or keeps the one there.
func (a *armClient) image(ctx context.Context, img imageSpec, disk string) (string, error) {
	got, err := a.images.Get(ctx, a.s.ResourceGroup, img.name, nil)
	switch {
	case err == nil && got.Properties != nil:
		keep, err := a.existing("image", img.name, got.Tags, got.Properties.ProvisioningState, img)
		if err != nil || keep {
			a.say("image %s already there", img.name)
			return *got.ID, err
		}
	case err != nil && statusOf(err) != http.StatusNotFound:
		return "", fmt.Errorf("publishing to Azure: reading image %q: %w", img.name, a.explain(err))
	}
	a.say("creating image %s from disk %s", img.name, img.name)
	poller, err := a.images.BeginCreateOrUpdate(ctx, a.s.ResourceGroup, img.name, armcompute.Image{
		Location: to.Ptr(a.s.Location),
		Tags:     img.azureTags(),
		Properties: &armcompute.ImageProperties{
			HyperVGeneration: to.Ptr(armcompute.HyperVGenerationTypes(img.gen)),
			StorageProfile: &armcompute.ImageStorageProfile{OSDisk: &armcompute.ImageOSDisk{
				OSType:      to.Ptr(armcompute.OperatingSystemTypesLinux),
				OSState:     to.Ptr(armcompute.OperatingSystemStateTypesGeneralized),
				ManagedDisk: &armcompute.SubResource{ID: to.Ptr(disk)},
			}},
		},
	}, nil)
	if err != nil {
		return "", fmt.Errorf("publishing to Azure: creating image %q: %w", img.name, a.explain(err))
	}
	res, err := wait(ctx, poller, a, "image", img.name)
	if err != nil {
		return "", err
	}
	return *res.ID, nil
}

func (a *armClient) say(format string, args ...any) {
	if a.o.Out != nil {
		fmt.Fprintf(a.o.Out, ">> azure: "+format+"\n", args...)
	}
}

// wait polls a long-running creation until it is done, within s.Timeout.
func wait[T any](ctx context.Context, p *runtime.Poller[T], a *armClient, kind, name string) (T, error) {
	timeout, every := a.s.Timeout, a.o.PollInterval
	if timeout == 0 {
		timeout = time.Hour
	}
	if every == 0 {
		every = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: every})
	switch {
	case err == nil:
		a.say("%s %s created", kind, name)
		return res, nil
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return res, fmt.Errorf("publishing to Azure: %s %q not done after %s (%s sets the limit); it goes on in Azure: az %s show --resource-group %s --name %s", kind, name, timeout, envvar.AzureImageTimeout.Name, kind, a.s.ResourceGroup, name)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return res, fmt.Errorf("publishing to Azure: creating %s %q: %w", kind, name, a.explain(err))
	}
	return res, fmt.Errorf("publishing to Azure: creating %s %q: %w", kind, name, oneLine(err))
}
