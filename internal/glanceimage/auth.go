package glanceimage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"gopkg.in/yaml.v3"

	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/httpbound"
	"gold-standard-images/internal/httpretry"
	"gold-standard-images/internal/shorterr"
)

// Auth is how to reach Glance, as the openstack CLI takes it: a cloud of
// clouds.yaml (OS_CLOUD) with the OS_* variables over its fields. Password,
// Secret and Token are secrets: no error or log line holds them.
type Auth struct {
	Cloud    string // the clouds.yaml entry it came from, for messages
	Type     string // password, v3password, v3applicationcredential, token, v3token or none
	URL      string // Keystone (OS_AUTH_URL)
	Endpoint string // Glance itself with Type none (OS_ENDPOINT)

	Username, UserID, Password         string
	UserDomainName, UserDomainID       string
	ProjectName, ProjectID             string
	ProjectDomainName, ProjectDomainID string
	AppCredID, AppCredName, Secret     string
	Token                              string

	Region, Interface string
	CACert            string // PEM file
	Insecure          bool
}

// cloudsFile is clouds.yaml (and secure.yaml, which holds the secrets of
// the same clouds).
type cloudsFile struct {
	Clouds map[string]cloudEntry `yaml:"clouds"`
}

type cloudEntry struct {
	AuthType  string `yaml:"auth_type"`
	Auth      map[string]string
	Region    string `yaml:"region_name"`
	Interface string `yaml:"interface"`
	CACert    string `yaml:"cacert"`
	Verify    *bool  `yaml:"verify"`
}

// cloudsPaths are the places the openstack CLI looks for clouds.yaml, in
// its order, after OS_CLIENT_CONFIG_FILE.
func cloudsPaths() []string {
	paths := []string{"clouds.yaml"}
	if dir, err := os.UserConfigDir(); err == nil {
		paths = append(paths, filepath.Join(dir, "openstack", "clouds.yaml"))
	}
	return append(paths, "/etc/openstack/clouds.yaml")
}

// AuthFromEnv reads OS_CLOUD's entry of clouds.yaml, when OS_CLOUD is set,
// and puts the OS_* variables over it, as the openstack CLI does.
func AuthFromEnv(getenv func(string) string) (Auth, error) {
	var a Auth
	if name := envvar.OSCloud.Get(getenv); name != "" {
		var err error
		if a, err = loadCloud(name, envvar.OSClientConfigFile.Get(getenv)); err != nil {
			return a, err
		}
	}
	set := func(dst *string, rows ...envvar.Text) {
		for _, r := range rows {
			if v := r.Get(getenv); v != "" {
				*dst = v
				return
			}
		}
	}
	typ, err := envvar.OSAuthType.Get(getenv)
	if err != nil {
		return a, err
	}
	if typ != "" {
		a.Type = typ
	}
	set(&a.URL, envvar.OSAuthURL)
	set(&a.Endpoint, envvar.OSEndpoint)
	set(&a.Username, envvar.OSUsername)
	set(&a.UserID, envvar.OSUserID)
	set(&a.Password, envvar.OSPassword)
	set(&a.UserDomainName, envvar.OSUserDomainName)
	set(&a.UserDomainID, envvar.OSUserDomainID)
	set(&a.ProjectName, envvar.OSProjectName, envvar.OSTenantName)
	set(&a.ProjectID, envvar.OSProjectID, envvar.OSTenantID)
	set(&a.ProjectDomainName, envvar.OSProjectDomainName)
	set(&a.ProjectDomainID, envvar.OSProjectDomainID)
	set(&a.AppCredID, envvar.OSApplicationCredentialID)
	set(&a.AppCredName, envvar.OSApplicationCredentialName)
	set(&a.Secret, envvar.OSApplicationCredentialSecret)
	set(&a.Token, envvar.OSToken)
	set(&a.Region, envvar.OSRegionName)
	set(&a.CACert, envvar.OSCACert)
	iface, err := envvar.OSInterface.Get(getenv)
	if err != nil {
		return a, err
	}
	if iface != "" {
		a.Interface = iface
	}
	if a.Insecure, err = envvar.OSInsecure.Or(getenv, a.Insecure); err != nil {
		return a, err
	}
	if a.Type == "" {
		a.Type = "password"
		if a.AppCredID != "" || a.AppCredName != "" {
			a.Type = "v3applicationcredential"
		}
	}
	return a, nil
}

// loadCloud reads the entry name of the first clouds.yaml found (file, if
// set, else the CLI's places) and of secure.yaml beside it.
func loadCloud(name, file string) (Auth, error) {
	paths := cloudsPaths()
	if file != "" {
		paths = []string{file}
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) && file == "" {
			continue
		}
		if err != nil {
			return Auth{}, fmt.Errorf("reading the clouds file %q: %w", path, err)
		}
		var clouds cloudsFile
		if err := yaml.Unmarshal(data, &clouds); err != nil {
			return Auth{}, fmt.Errorf("reading the clouds file %q: %w", path, err)
		}
		entry, ok := clouds.Clouds[name]
		if !ok {
			return Auth{}, fmt.Errorf("reading the clouds file %q: no cloud %q in it (OS_CLOUD); it has %s", path, name, cloudNames(clouds))
		}
		secure := filepath.Join(filepath.Dir(path), "secure.yaml")
		if data, err := os.ReadFile(secure); err == nil {
			var more cloudsFile
			if err := yaml.Unmarshal(data, &more); err != nil {
				return Auth{}, fmt.Errorf("reading %q: %w", secure, err)
			}
			merge(&entry, more.Clouds[name])
		}
		return entry.auth(name), nil
	}
	return Auth{}, fmt.Errorf("reading the cloud %q (OS_CLOUD): no clouds.yaml in %s; set OS_CLIENT_CONFIG_FILE to one", name, strings.Join(paths, ", "))
}

func cloudNames(c cloudsFile) string {
	var names []string
	for n := range c.Clouds {
		names = append(names, fmt.Sprintf("%q", n))
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// merge fills e with the fields of more (secure.yaml) that e lacks.
func merge(e *cloudEntry, more cloudEntry) {
	if e.Auth == nil {
		e.Auth = map[string]string{}
	}
	for k, v := range more.Auth {
		if e.Auth[k] == "" {
			e.Auth[k] = v
		}
	}
	if e.AuthType == "" {
		e.AuthType = more.AuthType
	}
}

func (e cloudEntry) auth(name string) Auth {
	a := e.Auth
	out := Auth{
		Cloud: name, Type: e.AuthType, URL: a["auth_url"], Endpoint: a["endpoint"],
		Username: a["username"], UserID: a["user_id"], Password: a["password"],
		UserDomainName: a["user_domain_name"], UserDomainID: a["user_domain_id"],
		ProjectName: first(a["project_name"], a["tenant_name"]), ProjectID: first(a["project_id"], a["tenant_id"]),
		ProjectDomainName: a["project_domain_name"], ProjectDomainID: a["project_domain_id"],
		AppCredID: a["application_credential_id"], AppCredName: a["application_credential_name"], Secret: a["application_credential_secret"],
		Token:  a["token"],
		Region: e.Region, Interface: e.Interface, CACert: e.CACert,
	}
	if e.Verify != nil {
		out.Insecure = !*e.Verify
	}
	// Domain names given once for both, as clouds.yaml allows.
	if d := a["domain_name"]; d != "" {
		out.UserDomainName, out.ProjectDomainName = first(out.UserDomainName, d), first(out.ProjectDomainName, d)
	}
	if d := a["domain_id"]; d != "" {
		out.UserDomainID, out.ProjectDomainID = first(out.UserDomainID, d), first(out.ProjectDomainID, d)
	}
	return out
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// where names the source of the settings in errors: the cloud, or the
// environment.
func (a Auth) where() string {
	if a.Cloud != "" {
		return fmt.Sprintf("cloud %q of clouds.yaml and the OS_* variables", a.Cloud)
	}
	return "the OS_* variables"
}

// Check lists every missing setting at once, with an example.
func (a Auth) Check() error {
	var missing []string
	need := func(ok bool, what string) {
		if !ok {
			missing = append(missing, what)
		}
	}
	switch a.Type {
	case "none":
		need(a.Endpoint != "", "OS_ENDPOINT (Glance's URL, e.g. http://glance.example:9292)")
	case "password", "v3password":
		need(a.URL != "", "OS_AUTH_URL (e.g. https://keystone.example:5000/v3)")
		need(a.Username != "" || a.UserID != "", "OS_USERNAME or OS_USER_ID")
		need(a.Password != "", "OS_PASSWORD")
		need(a.ProjectName != "" || a.ProjectID != "", "OS_PROJECT_NAME or OS_PROJECT_ID")
	case "v3applicationcredential":
		need(a.URL != "", "OS_AUTH_URL (e.g. https://keystone.example:5000/v3)")
		need(a.AppCredID != "" || (a.AppCredName != "" && (a.Username != "" || a.UserID != "")), "OS_APPLICATION_CREDENTIAL_ID (or OS_APPLICATION_CREDENTIAL_NAME with OS_USERNAME)")
		need(a.Secret != "", "OS_APPLICATION_CREDENTIAL_SECRET")
	case "token", "v3token":
		need(a.URL != "", "OS_AUTH_URL (e.g. https://keystone.example:5000/v3)")
		need(a.Token != "", "OS_TOKEN")
	default:
		return fmt.Errorf("reading the OpenStack settings: auth type %q (OS_AUTH_TYPE or auth_type in clouds.yaml) is not one of password, v3applicationcredential, token or none", a.Type)
	}
	if len(missing) > 0 {
		return fmt.Errorf("reading the OpenStack settings from %s: missing %s (or set OS_CLOUD to a cloud of clouds.yaml)", a.where(), strings.Join(missing, ", "))
	}
	return nil
}

// stallTimeout is how long a request to Keystone or Glance may go without a
// byte moving (sent, answered or read) before it is given up: gophercloud
// and http.DefaultTransport bound only dialing and the TLS handshake, so a
// connection that stalls would hang upload:openstack for good; a total
// limit per request would cut the image upload on a slow link.
var stallTimeout = 2 * time.Minute

// httpClient trusts CACert, or nothing with Insecure, gives up on a
// request that stalls for stallTimeout and tries again one Keystone or
// Glance turned away (429, 5xx) as its Retry-After says (httpretry),
// telling out (nil: nobody).
func (a Auth) httpClient(out io.Writer) (http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: a.Insecure} //nolint:gosec // OS_INSECURE asks for it
	if a.CACert != "" {
		pem, err := os.ReadFile(a.CACert)
		if err != nil {
			return http.Client{}, fmt.Errorf("reading the CA certificates (OS_CACERT): %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return http.Client{}, fmt.Errorf("reading the CA certificates %q (OS_CACERT): no PEM certificate in it", a.CACert)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	say := func(format string, args ...any) {
		if out != nil {
			fmt.Fprintf(out, ">> glance: "+format+"\n", args...)
		}
	}
	return http.Client{Transport: httpretry.Transport(httpbound.Transport(tr, stallTimeout), httpretry.Options{Retries: retries, Say: say})}, nil
}

// retries is how often a request turned away (429, 5xx) is tried again.
var retries = 5

// Connect authenticates (unless Type is none) and returns the Image v2
// client of the catalog's Glance (or of Endpoint) and the project id the
// token is scoped to (empty without Keystone). Retries are told to out
// (nil: nobody).
func Connect(ctx context.Context, a Auth, out io.Writer) (*gophercloud.ServiceClient, string, error) {
	if err := a.Check(); err != nil {
		return nil, "", err
	}
	hc, err := a.httpClient(out)
	if err != nil {
		return nil, "", err
	}
	if a.Type == "none" {
		provider := &gophercloud.ProviderClient{HTTPClient: hc}
		endpoint := gophercloud.NormalizeURL(a.Endpoint)
		return &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: endpoint, ResourceBase: strings.TrimSuffix(endpoint, "v2/") + "v2/", Type: "image"}, "", nil
	}
	provider, err := openstack.NewClient(a.URL)
	if err != nil {
		return nil, "", fmt.Errorf("reading OS_AUTH_URL %q: %w", a.URL, err)
	}
	provider.HTTPClient = hc
	opts := gophercloud.AuthOptions{
		IdentityEndpoint: a.URL,
		AllowReauth:      true,
	}
	switch a.Type {
	case "v3applicationcredential":
		opts.ApplicationCredentialID, opts.ApplicationCredentialName, opts.ApplicationCredentialSecret = a.AppCredID, a.AppCredName, a.Secret
		opts.Username, opts.UserID = a.Username, a.UserID
		opts.DomainName, opts.DomainID = a.UserDomainName, a.UserDomainID
	case "token", "v3token":
		opts.TokenID = a.Token
		opts.AllowReauth = false
		opts.Scope = a.scope()
	default:
		opts.Username, opts.UserID, opts.Password = a.Username, a.UserID, a.Password
		opts.DomainName, opts.DomainID = a.UserDomainName, a.UserDomainID
		if opts.UserID == "" && opts.DomainName == "" && opts.DomainID == "" {
			opts.DomainName = "Default"
		}
		opts.Scope = a.scope()
	}
	if err := openstack.Authenticate(ctx, provider, opts); err != nil {
		return nil, "", authError(a, err)
	}
	image, err := openstack.NewImageV2(provider, gophercloud.EndpointOpts{Region: a.Region, Availability: availability(a.Interface)})
	if err != nil {
		return nil, "", fmt.Errorf("finding Glance in the catalog of %s (region %q, interface %q): %w", a.URL, a.Region, first(a.Interface, "public"), err)
	}
	project := ""
	if r, ok := provider.GetAuthResult().(tokens.CreateResult); ok {
		if p, err := r.ExtractProject(); err == nil && p != nil {
			project = p.ID
		}
	}
	return image, project, nil
}

// scope is the project the token is for, its domain defaulting to the
// user's as the CLI does.
func (a Auth) scope() *gophercloud.AuthScope {
	if a.ProjectID != "" {
		return &gophercloud.AuthScope{ProjectID: a.ProjectID}
	}
	if a.ProjectName == "" {
		return nil
	}
	s := &gophercloud.AuthScope{ProjectName: a.ProjectName, DomainName: a.ProjectDomainName, DomainID: a.ProjectDomainID}
	if s.DomainName == "" && s.DomainID == "" {
		s.DomainName, s.DomainID = a.UserDomainName, a.UserDomainID
		if s.DomainName == "" && s.DomainID == "" {
			s.DomainName = "Default"
		}
	}
	return s
}

func availability(iface string) gophercloud.Availability {
	switch strings.TrimSuffix(iface, "URL") {
	case "internal":
		return gophercloud.AvailabilityInternal
	case "admin":
		return gophercloud.AvailabilityAdmin
	}
	return gophercloud.AvailabilityPublic
}

// authError is one line naming who was refused, never the secret.
func authError(a Auth, err error) error {
	who := first(a.Username, a.UserID, a.AppCredName, a.AppCredID)
	if who == "" {
		who = "the token"
	}
	if gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
		return fmt.Errorf("authenticating to %s as %q (%s): the credentials were refused (HTTP 401); check them", a.URL, who, a.where())
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		return fmt.Errorf("authenticating to %s as %q: Keystone answered HTTP %d", a.URL, who, code.Actual)
	}
	return fmt.Errorf("authenticating to %s as %q: %w", a.URL, who, oneLine(err))
}

// oneLine keeps the first line of an error.
func oneLine(err error) error {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return shorterr.New(s, err)
}
