//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"gold-standard-images/internal/awsimport"
	"gold-standard-images/internal/azureimage"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/dockerpush"
	"gold-standard-images/internal/gcpimage"
	"gold-standard-images/internal/glanceimage"
	"gold-standard-images/internal/provenance"
	"gold-standard-images/internal/release"
	"gold-standard-images/internal/sign"
	"gold-standard-images/internal/vsphereimport"
)

// Docker pushes the docker image of a vm_name to a container registry, no Docker daemon needed.
//
// Reads artifacts/<version>/<vm_name>/docker/<vm_name>-<version>_docker.tar.gz
// and pushes <registry>/<namespace>/<vm_name lower case>:<version> and :latest;
// the build's sbom.spdx.json beside it is attached as an OCI referrer and
// its digest labels the image. Environment: REGISTRY (host[:port]; else "registry" in templates/site.json),
// REGISTRY_NAMESPACE (else the site's "namespace"), REGISTRY_INSECURE=1
// allows plain HTTP to a registry that is not localhost, DOCKER_OUT=<folder>
// writes an OCI image layout there instead of pushing, DOCKER_CONFIG the
// docker config folder with credentials (docker login), VERSION. With
// COSIGN_KEY (and COSIGN_PASSWORD) the pushed image is signed as `cosign
// sign` does and carries its provenance and SBOM as signed attestations
// (release:verify and cosign verify check them); GPG_SIGNING_KEY,
// GPG_PUBLIC_KEY and COSIGN_PUBLIC_KEY are read and checked as for
// artifacts:checksum.
func (Upload) Docker(ctx context.Context, vmName string) error {
	return upload(ctx, vmName, dockerpush.Provider, dockerpush.SettingsFromEnv, func(ctx context.Context, cfg *config.Config, s dockerpush.Settings) (dockerpush.Result, error) {
		keys, err := sign.SettingsFromEnv(cfg.Site, os.Getenv).Load(repoRoot())
		if err != nil {
			return dockerpush.Result{}, err
		}
		signer := release.ImageSigner(keys, filepath.Join(cfg.Root, filepath.Dir(dockerpush.Source(cfg))), provenance.BuilderID(repoRoot()))
		return dockerpush.Publish(ctx, cfg, s, dockerpush.Options{Out: os.Stderr, Sign: signer})
	})
}

// Aws uploads the aws OVA of a vm_name to S3 and imports it as a tagged AMI with VM Import.
//
// Reads artifacts/<version>/<vm_name>/aws/<vm_name>-<version>_aws.ova; the
// upload is skipped when the object already holds the same sha256.
// Environment: AWS_S3_BUCKET (else aws.bucket in templates/site.json),
// AWS_IMPORT_TIMEOUT (Go duration, else aws.import_timeout, default 2h),
// the AWS SDK's usual AWS_PROFILE, AWS_REGION (else aws.region),
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and AWS_ENDPOINT_URL for an
// S3-compatible server; VERSION. The import uses the service role
// aws.import_role (vmimport), checked with iam:GetRole before the upload.
func (Upload) Aws(ctx context.Context, vmName string) error {
	return upload(ctx, vmName, awsimport.Provider, awsimport.SettingsFromEnv, func(ctx context.Context, cfg *config.Config, s awsimport.Settings) (awsimport.Result, error) {
		return awsimport.Publish(ctx, cfg, s, awsimport.Options{Out: os.Stderr})
	})
}

// Azure uploads the azure VHD of a vm_name as a page blob and makes a managed disk and an image from it.
//
// Reads artifacts/<version>/<vm_name>/azure/<vm_name>-<version>_azure.vhd;
// all-zero pages are not sent, an interrupted upload resumes, and a blob,
// disk or image already holding the same sha256 is kept. The disk and the
// image are named <vm_name>-<version>_azure (image_names "short" in
// templates/site.json: <vm_name>-<version>) and tagged vm_name, version, sha256.
// Environment: AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP (must exist),
// AZURE_LOCATION, AZURE_STORAGE_ACCOUNT (must exist), AZURE_STORAGE_CONTAINER
// (default images, created if missing), AZURE_IMAGE_TIMEOUT (Go duration,
// default 1h per disk and image), AZURE_STORAGE_BLOB_ENDPOINT and
// AZURE_RESOURCE_MANAGER_ENDPOINT (other clouds); credentials from
// azidentity's chain: AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET,
// a managed identity, or az login; VERSION.
func (Upload) Azure(ctx context.Context, vmName string) error {
	return upload(ctx, vmName, azureimage.Provider, azureimage.SettingsFromEnv, func(ctx context.Context, cfg *config.Config, s azureimage.Settings) (azureimage.Result, error) {
		return azureimage.Publish(ctx, cfg, s, azureimage.Options{Out: os.Stderr})
	})
}

// Gcp uploads the gcp tarball of a vm_name to Cloud Storage and makes a Compute Engine image from it.
//
// Reads artifacts/<version>/<vm_name>/gcp/<vm_name>-<version>_gcp.tar.gz;
// the resumable upload is skipped when the object is there with the same
// size and CRC32C. The image is <vm_name>-<version>_gcp (image_names
// "short": <vm_name>-<version>) by the image name rule
// (lower case, "_" and "." to "-", 63 characters at most), labelled version
// and vm_name, with guest OS feature VIRTIO_SCSI_MULTIQUEUE.
// Environment: GCP_PROJECT, GCS_BUCKET (must exist), GCP_IMAGE_FAMILY
// (default from the vm_name), GCP_IMAGE_TIMEOUT (Go duration, default 1h),
// GCE_ENDPOINT (another Compute API), STORAGE_EMULATOR_HOST (a Cloud Storage
// emulator, read by the storage library); credentials: Application Default
// Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth
// application-default login, or the attached service account); VERSION.
func (Upload) Gcp(ctx context.Context, vmName string) error {
	return upload(ctx, vmName, gcpimage.Provider, gcpimage.SettingsFromEnv, func(ctx context.Context, cfg *config.Config, s gcpimage.Settings) (gcpimage.Result, error) {
		return gcpimage.Publish(ctx, cfg, s, gcpimage.Options{Out: os.Stderr})
	})
}

// Openstack uploads the openstack qcow2 of a vm_name to Glance as the image <vm_name>-<version>_openstack.
//
// Reads artifacts/<version>/<vm_name>/openstack/<vm_name>-<version>_openstack.qcow2;
// tags the image packer and <version>, sets os_distro, os_version,
// hw_disk_bus=virtio and hw_qemu_guest_agent=yes, and checks Glance's hash
// against the file. An active image of that name and hash is left as it is;
// one left queued or saving by an interrupted run is replaced.
// Environment, as the openstack CLI reads it: OS_CLOUD (a cloud of
// clouds.yaml; OS_CLIENT_CONFIG_FILE names the file), OS_AUTH_TYPE
// (password, v3applicationcredential, token, or none with OS_ENDPOINT for a
// Glance without Keystone), OS_AUTH_URL, OS_USERNAME or OS_USER_ID,
// OS_PASSWORD, OS_USER_DOMAIN_NAME or OS_USER_DOMAIN_ID, OS_PROJECT_NAME or
// OS_PROJECT_ID (OS_TENANT_NAME, OS_TENANT_ID), OS_PROJECT_DOMAIN_NAME or
// OS_PROJECT_DOMAIN_ID, OS_APPLICATION_CREDENTIAL_ID or
// OS_APPLICATION_CREDENTIAL_NAME with OS_APPLICATION_CREDENTIAL_SECRET,
// OS_TOKEN, OS_REGION_NAME, OS_INTERFACE, OS_CACERT, OS_INSECURE=1;
// OS_IMAGE_VISIBILITY (private, shared, community, public),
// OS_IMAGE_PROTECTED=1, OS_IMAGE_TIMEOUT (wait for active, default 30m),
// FORCE=1 replaces an active image of that name holding other data; VERSION.
func (Upload) Openstack(ctx context.Context, vmName string) error {
	return upload(ctx, vmName, glanceimage.Provider, glanceimage.SettingsFromEnv, func(ctx context.Context, cfg *config.Config, s glanceimage.Settings) (glanceimage.Result, error) {
		return glanceimage.Publish(ctx, cfg, s, glanceimage.Options{Out: os.Stderr})
	})
}

// Vmware imports the vmware OVA of a vm_name into vSphere as the template <vm_name>-<version>_vmware.
//
// Reads artifacts/<version>/<vm_name>/vmware/<vm_name>-<version>_vmware.ova
// (made by ovftool, or in Go where ovftool is missing) and imports it as
// govc import.ova does (OVF descriptor, NFC lease, disk upload with
// progress), then marks it as a template. A template of that name in the
// folder is left as it is unless FORCE=1, which replaces it.
// Environment, as govc reads it: GOVC_URL (https://vcenter.example/sdk),
// GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE=1, GOVC_DATACENTER,
// GOVC_DATASTORE, GOVC_FOLDER, GOVC_RESOURCE_POOL, GOVC_NETWORK (what the
// OVA's "VM Network" maps to); FORCE, VERSION.
func (Upload) Vmware(ctx context.Context, vmName string) error {
	return upload(ctx, vmName, vsphereimport.Provider, vsphereimport.SettingsFromEnv, func(ctx context.Context, cfg *config.Config, s vsphereimport.Settings) (vsphereimport.Result, error) {
		return vsphereimport.Publish(ctx, cfg, s, vsphereimport.Options{Out: os.Stderr})
	})
}

// upload is the body every upload target shares: the vm_name's
// configuration, the upload's settings from the environment and the site,
// the upload, and its result said as "<provider>: <result>".
func upload[S any, R fmt.Stringer](ctx context.Context, vmName, provider string, settings func(config.Site, func(string) string) (S, error), publish func(context.Context, *config.Config, S) (R, error)) error {
	cfg, err := loadConfig(vmName)
	if err != nil {
		return err
	}
	s, err := settings(cfg.Site, os.Getenv)
	if err != nil {
		return err
	}
	res, err := publish(ctx, cfg, s)
	if err == nil {
		say("%s: %s", provider, res)
	}
	return err
}
