package envvar

// The rows, grouped by what they tune. A new variable is a row here and in
// All, named in the help of every target that reads it (test/mage_test.go).
var (
	// Builds (build:*, artifacts:convert).
	Only    = Text{Var{Name: "ONLY", Value: "providers, comma-separated", Doc: "builds and converts only these providers, e.g. aws,gcp"}}
	Except  = Text{Var{Name: "EXCEPT", Value: "providers, comma-separated", Doc: "leaves these providers out"}}
	Force   = Bool{Var{Name: "FORCE", Doc: "rebuilds builds that are up to date"}}
	Version = Text{Var{Name: "VERSION", Value: "digits and dots, e.g. 1.0.0", Doc: "overrides the site's version"}}

	// Packer.
	Packer        = Text{Var{Name: "PACKER", Value: "a path, or a name on PATH", Doc: "the Packer binary (else a 1.9.x packer on PATH, else v1.9.4 built into PACKER_CACHE)"}}
	PackerCache   = Text{Var{Name: "PACKER_CACHE", Value: "a folder", Doc: "where the pinned Packer is built (default: the user cache folder)"}}
	PackerTimeout = Duration{Var{Name: "PACKER_TIMEOUT", Doc: "bounds each packer build (default ssh_timeout plus 1h with KVM, 3h under TCG)"}}
	PackerOnError = Choice{Var{Name: "PACKER_ON_ERROR", Doc: "what Packer does when a build fails (its -on-error; default cleanup): abort keeps the VM and its output for a look; ask acts as cleanup, as builds give Packer no terminal"}, []string{"cleanup", "abort", "ask", "run-cleanup-provisioner"}}
	Headless      = Bool{Var{Name: "HEADLESS", Doc: "0 shows the hypervisors' console windows during builds (else the site's headless, default 1)"}}

	// ISOs, QEMU and libguestfs.
	ISOCache                  = Text{Var{Name: "ISO_CACHE", Value: "a folder", Doc: "where ISOs are kept, relative to the repository root unless absolute (default isos/)"}}
	QEMUAccelerator           = Choice{Var{Name: "QEMU_ACCELERATOR", Doc: "overrides the KVM probe (a tiny guest run on /dev/kvm; TCG where it runs none)"}, []string{"kvm", "tcg"}}
	LibguestfsBackend         = Text{Var{Name: "LIBGUESTFS_BACKEND", Value: "a libguestfs backend", Doc: "the backend of libguestfs in the docker conversion (default direct)"}}
	LibguestfsBackendSettings = Text{Var{Name: "LIBGUESTFS_BACKEND_SETTINGS", Value: "libguestfs backend settings", Doc: "tunes libguestfs (default force_tcg where KVM runs no guest)"}}

	// Catalog.
	DiffFormat     = Choice{Var{Name: "DIFF_FORMAT", Doc: "the output of artifacts:diff (default table)"}, []string{"table", "json"}}
	CatalogBaseURL = Text{Var{Name: "CATALOG_BASE_URL", Value: "a URL", Doc: "the web address of artifacts/ in the Vagrant catalog (default file:// URLs)"}}

	// Kickstart server.
	KSAddr               = Text{Var{Name: "KS_ADDR", Value: "host:port", Doc: "the address ks:serve listens on (default 127.0.0.1:8080; 0.0.0.0:8080 serves other machines)"}}
	KSPort               = Number{Var{Name: "KS_PORT", Doc: "the host port of the ks:up container (default 8080)"}}
	ContainerEngine      = Text{Var{Name: "CONTAINER_ENGINE", Value: "docker, podman or a path", Doc: "the container engine of ks:up and ks:down (default docker if its daemon answers, else podman)"}}
	ContainerEngineFlags = Words{Var{Name: "CONTAINER_ENGINE_FLAGS", Doc: "global flags of the container engine (default: podman gets --runtime runc where its own runtime does not run)"}}
	ContainerRunFlags    = Words{Var{Name: "CONTAINER_RUN_FLAGS", Doc: "flags of the container engine's run (default: podman gets --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)"}}

	// upload:aws.
	AWSS3Bucket        = Text{Var{Name: "AWS_S3_BUCKET", Value: "a bucket name", Doc: "the S3 bucket the OVA goes to (else aws.bucket in templates/site.json)"}}
	AWSImportTimeout   = Duration{Var{Name: "AWS_IMPORT_TIMEOUT", Doc: "bounds the VM Import (else aws.import_timeout, default 2h)"}}
	AWSProfile         = External{Var{Name: "AWS_PROFILE", Value: "a profile name", Doc: "the AWS credentials profile (read by the AWS SDK)"}}
	AWSRegion          = External{Var{Name: "AWS_REGION", Value: "a region", Doc: "the AWS region (read by the AWS SDK; else aws.region)"}}
	AWSAccessKeyID     = External{Var{Name: "AWS_ACCESS_KEY_ID", Value: "a key id", Doc: "AWS credentials, with AWS_SECRET_ACCESS_KEY (read by the AWS SDK)"}}
	AWSSecretAccessKey = External{Var{Name: "AWS_SECRET_ACCESS_KEY", Value: "a secret key", Doc: "AWS credentials, with AWS_ACCESS_KEY_ID (read by the AWS SDK)"}}
	AWSEndpointURL     = External{Var{Name: "AWS_ENDPOINT_URL", Value: "a URL", Doc: "an S3-compatible server instead of AWS (read by the AWS SDK)"}}

	// upload:azure.
	AzureSubscriptionID          = Text{Var{Name: "AZURE_SUBSCRIPTION_ID", Value: "a subscription id", Doc: "the subscription of the Azure disk and image (az account show --query id)"}}
	AzureResourceGroup           = Text{Var{Name: "AZURE_RESOURCE_GROUP", Value: "a resource group", Doc: "the existing resource group of the storage account, disk and image"}}
	AzureLocation                = Text{Var{Name: "AZURE_LOCATION", Value: "a region, e.g. westeurope", Doc: "the region of the disk and image"}}
	AzureStorageAccount          = Text{Var{Name: "AZURE_STORAGE_ACCOUNT", Value: "an account name", Doc: "the existing storage account the VHD is uploaded to"}}
	AzureStorageContainer        = Text{Var{Name: "AZURE_STORAGE_CONTAINER", Value: "a container name", Doc: "the blob container of the VHD, created if missing (default images)"}}
	AzureStorageBlobEndpoint     = Text{Var{Name: "AZURE_STORAGE_BLOB_ENDPOINT", Value: "a URL", Doc: "the blob service instead of https://<account>.blob.core.windows.net (Azurite, sovereign clouds)"}}
	AzureResourceManagerEndpoint = Text{Var{Name: "AZURE_RESOURCE_MANAGER_ENDPOINT", Value: "a URL", Doc: "the resource manager instead of https://management.azure.com (sovereign clouds, tests)"}}
	AzureImageTimeout            = Duration{Var{Name: "AZURE_IMAGE_TIMEOUT", Doc: "bounds each of the disk and image creations (default 1h)"}}
	AzureClientID                = External{Var{Name: "AZURE_CLIENT_ID", Value: "an application id", Doc: "a service principal or managed identity (read by azidentity; else az login)"}}
	AzureTenantID                = External{Var{Name: "AZURE_TENANT_ID", Value: "a tenant id", Doc: "the service principal's tenant (read by azidentity)"}}
	AzureClientSecret            = External{Var{Name: "AZURE_CLIENT_SECRET", Value: "a secret", Doc: "the service principal's secret (read by azidentity)"}}

	// upload:gcp.
	GCPProject                   = Text{Var{Name: "GCP_PROJECT", Value: "a project id", Doc: "the Google Cloud project of the image"}}
	GCSBucket                    = Text{Var{Name: "GCS_BUCKET", Value: "a bucket name", Doc: "the existing Cloud Storage bucket the gcp tarball is uploaded to"}}
	GCPImageFamily               = Text{Var{Name: "GCP_IMAGE_FAMILY", Value: "an image family", Doc: "the image family (default the vm_name by the image name rule)"}}
	GCPImageTimeout              = Duration{Var{Name: "GCP_IMAGE_TIMEOUT", Doc: "bounds the image creation (default 1h)"}}
	GCEEndpoint                  = Text{Var{Name: "GCE_ENDPOINT", Value: "a URL ending in /compute/v1/", Doc: "the Compute API instead of https://compute.googleapis.com/compute/v1/ (tests)"}}
	StorageEmulatorHost          = External{Var{Name: "STORAGE_EMULATOR_HOST", Value: "host:port", Doc: "a Cloud Storage emulator instead of Google's (read by the storage library)"}}
	GoogleApplicationCredentials = External{Var{Name: "GOOGLE_APPLICATION_CREDENTIALS", Value: "a file", Doc: "a service account key file (read by Application Default Credentials; else gcloud auth application-default login)"}}

	// upload:docker.
	Registry          = Text{Var{Name: "REGISTRY", Value: "host[:port]", Doc: "the container registry (else registry in templates/site.json)"}}
	RegistryNamespace = Text{Var{Name: "REGISTRY_NAMESPACE", Value: "a path", Doc: "the path below the registry (else the site's namespace)"}}
	RegistryInsecure  = Bool{Var{Name: "REGISTRY_INSECURE", Doc: "allows plain HTTP to a registry that is not on the loopback interface"}}
	DockerOut         = Text{Var{Name: "DOCKER_OUT", Value: "a folder", Doc: "writes an OCI image layout there instead of pushing"}}
	DockerConfig      = External{Var{Name: "DOCKER_CONFIG", Value: "a folder", Doc: "the docker config folder with the registry credentials of docker login (read by the registry client)"}}

	// mage test.
	TestRun  = Text{Var{Name: "TEST_RUN", Value: "a go test -run pattern", Doc: "runs only the tests matching it"}}
	TestPkgs = Words{Var{Name: "TEST_PKGS", Doc: "the packages to test (default ./...)"}}

	// The system's.
	Path = Text{Var{Name: "PATH", Value: "folders, colon-separated", Doc: "where Packer, go and the host tools are looked up"}}
)

// All is the table, in the README's order.
var All = []Row{
	Only, Except, Force, Version,
	Packer, PackerCache, PackerTimeout, PackerOnError, Headless,
	ISOCache, QEMUAccelerator, LibguestfsBackend, LibguestfsBackendSettings,
	CatalogBaseURL, DiffFormat,
	KSAddr, KSPort, ContainerEngine, ContainerEngineFlags, ContainerRunFlags,
	AWSS3Bucket, AWSImportTimeout, AWSProfile, AWSRegion, AWSAccessKeyID, AWSSecretAccessKey, AWSEndpointURL,
	AzureSubscriptionID, AzureResourceGroup, AzureLocation, AzureStorageAccount, AzureStorageContainer,
	AzureStorageBlobEndpoint, AzureResourceManagerEndpoint, AzureImageTimeout, AzureClientID, AzureTenantID, AzureClientSecret,
	GCPProject, GCSBucket, GCPImageFamily, GCPImageTimeout, GCEEndpoint, StorageEmulatorHost, GoogleApplicationCredentials,
	Registry, RegistryNamespace, RegistryInsecure, DockerOut, DockerConfig,
	TestRun, TestPkgs,
	Path,
}

// Lookup returns the row of the variable name.
func Lookup(name string) (Row, bool) {
	for _, r := range All {
		if r.Variable().Name == name {
			return r, true
		}
	}
	return nil, false
}
