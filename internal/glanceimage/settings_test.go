package glanceimage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/config"
)

func TestSettingsFromEnv(t *testing.T) {
	dir := t.TempDir()
	clouds := filepath.Join(dir, "clouds.yaml")
	os.WriteFile(clouds, []byte(`clouds:
  lab:
    auth:
      auth_url: https://keystone.lab:5000/v3
      username: builder
      password: from-file
      project_id: p1
      domain_name: Lab
    region_name: RegionOne
    interface: internal
    verify: false
`), 0o600)
	cases := []struct {
		name string
		env  map[string]string
		want Settings
		err  string // part of the error; empty for none
	}{
		{
			name: "clouds.yaml with the variables over it",
			env:  map[string]string{"OS_CLOUD": "lab", "OS_CLIENT_CONFIG_FILE": clouds, "OS_PASSWORD": "from-env", "OS_IMAGE_VISIBILITY": "public", "OS_IMAGE_PROTECTED": "1", "OS_IMAGE_TIMEOUT": "5m"},
			want: Settings{Auth: Auth{Cloud: "lab", Type: "password", URL: "https://keystone.lab:5000/v3", Username: "builder", Password: "from-env", ProjectID: "p1",
				UserDomainName: "Lab", ProjectDomainName: "Lab", Region: "RegionOne", Interface: "internal", Insecure: true},
				Visibility: "public", Protected: true, Timeout: 5 * time.Minute},
		},
		{
			name: "an application credential makes it the default auth type",
			env:  map[string]string{"OS_AUTH_URL": "https://k/v3", "OS_APPLICATION_CREDENTIAL_ID": "ac", "OS_APPLICATION_CREDENTIAL_SECRET": "x", "OS_TENANT_NAME": "old"},
			want: Settings{Auth: Auth{Type: "v3applicationcredential", URL: "https://k/v3", AppCredID: "ac", Secret: "x", ProjectName: "old"}},
		},
		{
			name: "no Keystone",
			env:  map[string]string{"OS_AUTH_TYPE": "none", "OS_ENDPOINT": "http://glance:9292", "FORCE": "1"},
			want: Settings{Auth: Auth{Type: "none", Endpoint: "http://glance:9292"}, Force: true},
		},
		{
			name: "every bad value at once",
			env:  map[string]string{"OS_AUTH_TYPE": "kerberos", "OS_IMAGE_VISIBILITY": "everyone", "OS_IMAGE_PROTECTED": "yes please"},
			err:  `OS_AUTH_TYPE="kerberos"` + "|" + `OS_IMAGE_VISIBILITY="everyone": want private, shared, community or public` + "|" + `OS_IMAGE_PROTECTED="yes please"`,
		},
		{
			name: "a cloud that clouds.yaml lacks",
			env:  map[string]string{"OS_CLOUD": "prod", "OS_CLIENT_CONFIG_FILE": clouds},
			err:  `no cloud "prod" in it (OS_CLOUD); it has "lab"`,
		},
		{
			name: "a clouds.yaml that is not there",
			env:  map[string]string{"OS_CLOUD": "lab", "OS_CLIENT_CONFIG_FILE": filepath.Join(dir, "missing.yaml")},
			err:  "missing.yaml",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SettingsFromEnv(config.Site{}, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				for _, part := range strings.Split(tc.err, "|") {
					if err == nil || !strings.Contains(err.Error(), part) {
						t.Errorf("error %v, want it to say %q", err, part)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestMissingSettingsAreNamedAtOnceWithAnExample(t *testing.T) {
	cases := []struct {
		auth Auth
		want []string
	}{
		{Auth{Type: "password", Password: "hunter2-secret"}, []string{"OS_AUTH_URL (e.g. https://", "OS_USERNAME or OS_USER_ID", "OS_PROJECT_NAME or OS_PROJECT_ID", "OS_CLOUD"}},
		{Auth{Type: "v3applicationcredential"}, []string{"OS_AUTH_URL", "OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_SECRET"}},
		{Auth{Type: "none"}, []string{"OS_ENDPOINT (Glance's URL, e.g. http://"}},
		{Auth{Type: "token"}, []string{"OS_AUTH_URL", "OS_TOKEN"}},
	}
	for _, tc := range cases {
		err := tc.auth.Check()
		if err == nil {
			t.Errorf("%s: no error", tc.auth.Type)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not name %q", tc.auth.Type, err, w)
			}
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %q", tc.auth.Type, err)
		}
	}
}

func TestNoArtifactNamesTheBuildToRun(t *testing.T) {
	cfg := &config.Config{Root: t.TempDir(), Site: config.Defaults(), OS: config.OS{VMName: "CentOS-7.9.2009"}}
	_, err := Publish(context.Background(), cfg, Settings{Auth: Auth{Type: "none", Endpoint: "http://127.0.0.1:1"}}, Options{})
	want := `publishing to OpenStack: artifact "artifacts/1.0.0/CentOS-7.9.2009/openstack/CentOS-7.9.2009-1.0.0_openstack.qcow2" not found; build it first (mage build:os CentOS-7.9.2009 with ONLY=openstack)`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

func TestResultStringIsTheLineUploadOpenstackPrints(t *testing.T) {
	r := Result{Name: "CentOS-7.9.2009-1.0.0", ID: "i-2", Endpoint: "http://glance:9292/v2/", Removed: []string{"i-1"}}
	want := "image CentOS-7.9.2009-1.0.0 (i-2) at http://glance:9292/v2/, upload skipped: false, removed i-1"
	if r.String() != want {
		t.Errorf("%q\nwant %q", r.String(), want)
	}
}

func TestOSDistroIsLibosinfosShortName(t *testing.T) {
	for in, want := range map[string]string{"CentOS": "centos", "RedHat": "rhel", "Red Hat": "rhel", "Rocky": "rocky", "Debian": "debian"} {
		if got := osDistro(in); got != want {
			t.Errorf("osDistro(%q) = %q, want %q", in, got, want)
		}
	}
}
