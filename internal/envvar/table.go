package envvar

// The rows, grouped by what they tune. A new variable is a row here and in
// All, named in the help of every target that reads it (test/mage_test.go).
var (
	// Builds (build:*, artifacts:convert).
	Only       = Text{Var{Name: "ONLY", Value: "providers, comma-separated", Doc: "builds and converts only these providers, e.g. aws,gcp"}}
	Except     = Text{Var{Name: "EXCEPT", Value: "providers, comma-separated", Doc: "leaves these providers out"}}
	Force      = Bool{Var{Name: "FORCE", Doc: "rebuilds builds that are up to date; upload:openstack and upload:vmware replace an image or template of the same name"}}
	Version    = Text{Var{Name: "VERSION", Value: "digits and dots, e.g. 1.0.0", Doc: "overrides the site's version"}}
	DebugBoxes = Bool{Var{Name: "DEBUG_BOXES", Doc: "1 makes builds also make the debug boxes of aws, azure, docker, gcp, openstack and vmware (artifacts:debugboxes makes them alone)"}}

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

	// Debian builds.
	DebianMirror         = Text{Var{Name: "DEBIAN_MIRROR", Value: "a URL", Doc: "the Debian archive the Debian builds bootstrap from (else debian_mirror in templates/site.json, default http://deb.debian.org/debian)"}}
	DebianSecurityMirror = Text{Var{Name: "DEBIAN_SECURITY_MIRROR", Value: "a URL", Doc: "the Debian security archive (else debian_security_mirror, default http://deb.debian.org/debian-security)"}}

	// Catalog.
	DiffFormat     = Choice{Var{Name: "DIFF_FORMAT", Doc: "the output of artifacts:diff (default table)"}, []string{"table", "json"}}
	CatalogBaseURL = Text{Var{Name: "CATALOG_BASE_URL", Value: "a URL", Doc: "the web address of artifacts/ in the Vagrant catalog (default file:// URLs)"}}

	// Kickstart server.
	KSAddr               = Text{Var{Name: "KS_ADDR", Value: "host:port", Doc: "the address ks:serve listens on (default 127.0.0.1:8080; 0.0.0.0:8080 serves other machines, which can then read the root password's hash in the kickstarts)"}}
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

	// Release signing (internal/sign): keys the site provides, never printed.
	GPGSigningKey   = Text{Var{Name: "GPG_SIGNING_KEY", Value: "a file, mode 0600", Doc: "the armored OpenPGP private key that signs each SHA256SUM as SHA256SUM.asc (else signing.gpg_key in templates/site.json)"}}
	GPGPublicKey    = Text{Var{Name: "GPG_PUBLIC_KEY", Value: "a file", Doc: "the armored OpenPGP public key that checks SHA256SUM.asc where the private key is not at hand (else signing.gpg_public_key)"}}
	CosignKey       = Text{Var{Name: "COSIGN_KEY", Value: "a file, mode 0600", Doc: "cosign's encrypted private key (cosign.key) that signs the provenance and the pushed images (else signing.cosign_key)"}}
	CosignPassword  = Text{Var{Name: "COSIGN_PASSWORD", Value: "a password", Doc: "the password of COSIGN_KEY, as cosign reads it (secret; else signing.cosign_password)"}}
	CosignPublicKey = Text{Var{Name: "COSIGN_PUBLIC_KEY", Value: "a file", Doc: "cosign's public key (cosign.pub) that checks provenance and image signatures where the private key is not at hand (else signing.cosign_public_key)"}}

	// upload:openstack: the openstack CLI's variables, read as it reads them.
	OSCloud                       = Text{Var{Name: "OS_CLOUD", Value: "a cloud name", Doc: "the cloud of clouds.yaml to use (the OS_* variables below override its fields)"}}
	OSClientConfigFile            = Text{Var{Name: "OS_CLIENT_CONFIG_FILE", Value: "a path", Doc: "the clouds.yaml to read (default ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml)"}}
	OSAuthType                    = Choice{Var{Name: "OS_AUTH_TYPE", Doc: "how to authenticate (default v3applicationcredential when an application credential is set, else password)"}, []string{"password", "v3password", "v3applicationcredential", "token", "v3token", "none"}}
	OSAuthURL                     = Text{Var{Name: "OS_AUTH_URL", Value: "a URL", Doc: "the Keystone endpoint, e.g. https://keystone.example:5000/v3"}}
	OSEndpoint                    = Text{Var{Name: "OS_ENDPOINT", Value: "a URL", Doc: "the Glance endpoint with OS_AUTH_TYPE=none (a Glance without Keystone)"}}
	OSUsername                    = Text{Var{Name: "OS_USERNAME", Value: "a user name", Doc: "the user of password authentication"}}
	OSUserID                      = Text{Var{Name: "OS_USER_ID", Value: "a user id", Doc: "the user of password authentication, by id"}}
	OSPassword                    = Text{Var{Name: "OS_PASSWORD", Value: "a password", Doc: "the password of OS_USERNAME (secret)"}}
	OSUserDomainName              = Text{Var{Name: "OS_USER_DOMAIN_NAME", Value: "a domain name", Doc: "the user's domain (default Default when neither it nor OS_USER_DOMAIN_ID is set)"}}
	OSUserDomainID                = Text{Var{Name: "OS_USER_DOMAIN_ID", Value: "a domain id", Doc: "the user's domain, by id"}}
	OSProjectName                 = Text{Var{Name: "OS_PROJECT_NAME", Value: "a project name", Doc: "the project the image belongs to (OS_TENANT_NAME is read too)"}}
	OSProjectID                   = Text{Var{Name: "OS_PROJECT_ID", Value: "a project id", Doc: "the project, by id (OS_TENANT_ID is read too)"}}
	OSTenantName                  = Text{Var{Name: "OS_TENANT_NAME", Value: "a project name", Doc: "the old name of OS_PROJECT_NAME"}}
	OSTenantID                    = Text{Var{Name: "OS_TENANT_ID", Value: "a project id", Doc: "the old name of OS_PROJECT_ID"}}
	OSProjectDomainName           = Text{Var{Name: "OS_PROJECT_DOMAIN_NAME", Value: "a domain name", Doc: "the project's domain (default the user's)"}}
	OSProjectDomainID             = Text{Var{Name: "OS_PROJECT_DOMAIN_ID", Value: "a domain id", Doc: "the project's domain, by id"}}
	OSApplicationCredentialID     = Text{Var{Name: "OS_APPLICATION_CREDENTIAL_ID", Value: "an id", Doc: "an application credential, with OS_APPLICATION_CREDENTIAL_SECRET"}}
	OSApplicationCredentialName   = Text{Var{Name: "OS_APPLICATION_CREDENTIAL_NAME", Value: "a name", Doc: "an application credential by name (with OS_USERNAME or OS_USER_ID)"}}
	OSApplicationCredentialSecret = Text{Var{Name: "OS_APPLICATION_CREDENTIAL_SECRET", Value: "a secret", Doc: "the application credential's secret (secret)"}}
	OSToken                       = Text{Var{Name: "OS_TOKEN", Value: "a token", Doc: "an existing Keystone token with OS_AUTH_TYPE=token (secret)"}}
	OSRegionName                  = Text{Var{Name: "OS_REGION_NAME", Value: "a region", Doc: "the region whose Glance is used"}}
	OSInterface                   = Choice{Var{Name: "OS_INTERFACE", Doc: "the catalog endpoint to use (default public)"}, []string{"public", "internal", "admin"}}
	OSCACert                      = Text{Var{Name: "OS_CACERT", Value: "a PEM file", Doc: "CA certificates to trust for Keystone and Glance"}}
	OSInsecure                    = Bool{Var{Name: "OS_INSECURE", Doc: "skips TLS certificate checks (test clouds only)"}}
	OSImageVisibility             = Choice{Var{Name: "OS_IMAGE_VISIBILITY", Doc: "who may use the image (default Glance's: shared)"}, []string{"private", "shared", "community", "public"}}
	OSImageProtected              = Bool{Var{Name: "OS_IMAGE_PROTECTED", Doc: "protects the image from deletion"}}
	OSImageTimeout                = Duration{Var{Name: "OS_IMAGE_TIMEOUT", Doc: "bounds the wait for the image to become active after the upload (default 30m)"}}

	// upload:vmware: govc's variables, read as govc reads them.
	GovcURL          = Text{Var{Name: "GOVC_URL", Value: "a URL or host", Doc: "the vCenter or ESXi to import into, e.g. https://vcenter.example/sdk (a bare host is https://host/sdk)"}}
	GovcUsername     = Text{Var{Name: "GOVC_USERNAME", Value: "a user name", Doc: "the vSphere user (over the user in GOVC_URL)"}}
	GovcPassword     = Text{Var{Name: "GOVC_PASSWORD", Value: "a password", Doc: "the vSphere user's password (secret)"}}
	GovcInsecure     = Bool{Var{Name: "GOVC_INSECURE", Doc: "skips vSphere's TLS certificate check (test systems only)"}}
	GovcDatacenter   = Text{Var{Name: "GOVC_DATACENTER", Value: "a datacenter", Doc: "the datacenter (default the only one)"}}
	GovcDatastore    = Text{Var{Name: "GOVC_DATASTORE", Value: "a datastore", Doc: "the datastore of the template's disks (default the datacenter's only one)"}}
	GovcFolder       = Text{Var{Name: "GOVC_FOLDER", Value: "an inventory path", Doc: "the VM folder of the template (default the datacenter's vm folder)"}}
	GovcResourcePool = Text{Var{Name: "GOVC_RESOURCE_POOL", Value: "an inventory path", Doc: "the resource pool the import runs in (default the only one)"}}
	GovcNetwork      = Text{Var{Name: "GOVC_NETWORK", Value: "a network", Doc: "the network the OVA's \"VM Network\" maps to (default vSphere's choice)"}}

	// mage test.
	TestRun  = Text{Var{Name: "TEST_RUN", Value: "a go test -run pattern", Doc: "runs only the tests matching it"}}
	TestPkgs = Words{Var{Name: "TEST_PKGS", Doc: "the packages to test (default ./...)"}}

	// The system's.
	Path = Text{Var{Name: "PATH", Value: "folders, colon-separated", Doc: "where Packer, go and the host tools are looked up"}}
)

// All is the table, in the README's order.
var All = []Row{
	Only, Except, Force, Version, DebugBoxes,
	Packer, PackerCache, PackerTimeout, PackerOnError, Headless,
	ISOCache, QEMUAccelerator, LibguestfsBackend, LibguestfsBackendSettings,
	DebianMirror, DebianSecurityMirror,
	CatalogBaseURL, DiffFormat,
	KSAddr, KSPort, ContainerEngine, ContainerEngineFlags, ContainerRunFlags,
	AWSS3Bucket, AWSImportTimeout, AWSProfile, AWSRegion, AWSAccessKeyID, AWSSecretAccessKey, AWSEndpointURL,
	AzureSubscriptionID, AzureResourceGroup, AzureLocation, AzureStorageAccount, AzureStorageContainer,
	AzureStorageBlobEndpoint, AzureResourceManagerEndpoint, AzureImageTimeout, AzureClientID, AzureTenantID, AzureClientSecret,
	GCPProject, GCSBucket, GCPImageFamily, GCPImageTimeout, GCEEndpoint, StorageEmulatorHost, GoogleApplicationCredentials,
	Registry, RegistryNamespace, RegistryInsecure, DockerOut, DockerConfig,
	GPGSigningKey, GPGPublicKey, CosignKey, CosignPassword, CosignPublicKey,
	OSCloud, OSClientConfigFile, OSAuthType, OSAuthURL, OSEndpoint, OSUsername, OSUserID, OSPassword,
	OSUserDomainName, OSUserDomainID, OSProjectName, OSProjectID, OSTenantName, OSTenantID, OSProjectDomainName, OSProjectDomainID,
	OSApplicationCredentialID, OSApplicationCredentialName, OSApplicationCredentialSecret, OSToken,
	OSRegionName, OSInterface, OSCACert, OSInsecure, OSImageVisibility, OSImageProtected, OSImageTimeout,
	GovcURL, GovcUsername, GovcPassword, GovcInsecure, GovcDatacenter, GovcDatastore, GovcFolder, GovcResourcePool, GovcNetwork,
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
