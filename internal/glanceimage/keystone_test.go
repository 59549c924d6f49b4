package glanceimage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gold-standard-images/internal/config"
)

// fakeKeystone speaks Keystone v3's POST /v3/auth/tokens for the password,
// application_credential and token methods, with a catalog whose image
// service in RegionOne is glance (RegionTwo's points nowhere), and its
// version document at / for clients given an unversioned OS_AUTH_URL.
type fakeKeystone struct {
	glance   string
	user     string // name, in domain Default
	password string
	credID   string
	secret   string
	// userToken is a token the user has (OS_TOKEN), exchanged for a
	// scoped one.
	userToken string

	mu    sync.Mutex
	asked []string // the methods of each request
}

const testToken = "gAAAAA-test-token"

func (k *fakeKeystone) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMultipleChoices)
		fmt.Fprintf(w, `{"versions":{"values":[{"id":"v3.14","status":"stable","updated":"2020-04-07T00:00:00Z","links":[{"rel":"self","href":"http://%s/v3/"}]}]}}`, r.Host)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v3/auth/tokens" {
		http.NotFound(w, r)
		return
	}
	var req struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name, Password string
						Domain         struct{ Name string }
					}
				}
				ApplicationCredential struct{ ID, Secret string } `json:"application_credential"`
				Token                 struct{ ID string }
			}
			Scope struct {
				Project struct {
					Name   string
					Domain struct{ Name string }
				}
			}
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := req.Auth.Identity
	k.mu.Lock()
	k.asked = append(k.asked, strings.Join(id.Methods, ","))
	k.mu.Unlock()
	ok := false
	switch strings.Join(id.Methods, ",") {
	case "password":
		u := id.Password.User
		ok = u.Name == k.user && u.Password == k.password && u.Domain.Name == "Default" &&
			req.Auth.Scope.Project.Name == "images" && req.Auth.Scope.Project.Domain.Name == "Default"
	case "application_credential":
		ok = id.ApplicationCredential.ID == k.credID && id.ApplicationCredential.Secret == k.secret
	case "token":
		ok = id.Token.ID == k.userToken && req.Auth.Scope.Project.Name == "images"
	}
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"code":401,"title":"Unauthorized","message":"The request you have made requires authentication."}}`)
		return
	}
	endpoint := func(region, u string) map[string]string {
		return map[string]string{"id": region, "interface": "public", "region": region, "region_id": region, "url": u}
	}
	body := map[string]any{"token": map[string]any{
		"methods":    id.Methods,
		"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		"user":       map[string]any{"id": "u1", "name": k.user, "domain": map[string]string{"id": "default", "name": "Default"}},
		"project":    map[string]any{"id": "p1", "name": "images", "domain": map[string]string{"id": "default", "name": "Default"}},
		"catalog": []any{map[string]any{"type": "image", "name": "glance", "id": "s1", "endpoints": []any{
			endpoint("RegionTwo", "http://127.0.0.1:1"), endpoint("RegionOne", k.glance)}}},
	}}
	w.Header().Set("X-Subject-Token", testToken)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(body)
}

// tokenCheckingProxy passes requests to Glance, counting those that carry
// the token Keystone gave.
type tokenCheckingProxy struct {
	next          http.Handler
	mu            sync.Mutex
	withToken, no int
}

func (p *tokenCheckingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if r.Header.Get("X-Auth-Token") == testToken {
		p.withToken++
	} else {
		p.no++
	}
	p.mu.Unlock()
	p.next.ServeHTTP(w, r)
}

func startKeystone(t *testing.T) (*fakeKeystone, *tokenCheckingProxy, string) {
	t.Helper()
	glance := startGlance(t)
	target, _ := url.Parse(glance)
	proxy := &tokenCheckingProxy{next: httputil.NewSingleHostReverseProxy(target)}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	k := &fakeKeystone{glance: front.URL, user: "builder", password: "s3cret-Pa55", credID: "ac-1", secret: "ac-s3cret", userToken: "gAAAAA-user-token"}
	ks := httptest.NewServer(k)
	t.Cleanup(ks.Close)
	return k, proxy, ks.URL + "/v3"
}

func TestKeystoneTokensReachTheCatalogsGlance(t *testing.T) {
	k, proxy, authURL := startKeystone(t)
	dir := t.TempDir()
	clouds := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(clouds, []byte(fmt.Sprintf(`clouds:
  lab:
    auth:
      auth_url: %s
      username: builder
      project_name: images
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
  lab-app:
    auth_type: v3applicationcredential
    auth:
      auth_url: %[1]s
      application_credential_id: ac-1
    region_name: RegionOne
`, authURL)), 0o600); err != nil {
		t.Fatal(err)
	}
	// secure.yaml beside it holds the secrets, as the CLI allows.
	if err := os.WriteFile(filepath.Join(dir, "secure.yaml"), []byte("clouds:\n  lab:\n    auth:\n      password: s3cret-Pa55\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		env    map[string]string
		method string
	}{
		{"password from clouds.yaml and secure.yaml", map[string]string{"OS_CLOUD": "lab"}, "password"},
		{"application credential from clouds.yaml, secret from the environment", map[string]string{"OS_CLOUD": "lab-app", "OS_APPLICATION_CREDENTIAL_SECRET": "ac-s3cret"}, "application_credential"},
		{"password from the OS_* variables alone", map[string]string{"OS_AUTH_URL": authURL, "OS_USERNAME": "builder", "OS_PASSWORD": "s3cret-Pa55", "OS_PROJECT_NAME": "images", "OS_REGION_NAME": "RegionOne"}, "password"},
		{"application credential from the OS_* variables alone", map[string]string{"OS_AUTH_URL": authURL, "OS_APPLICATION_CREDENTIAL_ID": "ac-1", "OS_APPLICATION_CREDENTIAL_SECRET": "ac-s3cret", "OS_REGION_NAME": "RegionOne"}, "application_credential"},
		{"an unversioned OS_AUTH_URL, found by Keystone's version document", map[string]string{"OS_AUTH_URL": strings.TrimSuffix(authURL, "/v3"), "OS_USERNAME": "builder", "OS_PASSWORD": "s3cret-Pa55", "OS_PROJECT_NAME": "images", "OS_REGION_NAME": "RegionOne"}, "password"},
		{"a token exchanged for one scoped to the project", map[string]string{"OS_AUTH_TYPE": "token", "OS_AUTH_URL": authURL, "OS_TOKEN": "gAAAAA-user-token", "OS_PROJECT_NAME": "images", "OS_REGION_NAME": "RegionOne"}, "token"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["OS_CLIENT_CONFIG_FILE"] = clouds
			s, err := SettingsFromEnv(config.Site{}, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(t, fmt.Sprintf("5.0.%d", i), 1, byte(10+i))
			before := proxy.withToken
			res, err := Publish(context.Background(), cfg, s, Options{PollInterval: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if res.Skipped || !strings.HasPrefix(res.Endpoint, k.glance) {
				t.Errorf("result %+v: want an upload to the catalog's RegionOne Glance %s", res, k.glance)
			}
			k.mu.Lock()
			last := k.asked[len(k.asked)-1]
			k.mu.Unlock()
			if last != tc.method {
				t.Errorf("Keystone was asked with %q, want %q", last, tc.method)
			}
			proxy.mu.Lock()
			defer proxy.mu.Unlock()
			if proxy.withToken == before || proxy.no != 0 {
				t.Errorf("Glance got %d requests with the token and %d without", proxy.withToken-before, proxy.no)
			}
		})
	}
}

func TestRefusedCredentialsAreOneLineWithoutTheSecret(t *testing.T) {
	_, _, authURL := startKeystone(t)
	cfg := testConfig(t, "6.0.0", 1, 20)
	for _, a := range []Auth{
		{Type: "password", URL: authURL, Username: "builder", Password: "wrong-Pa55word", ProjectName: "images"},
		{Type: "v3applicationcredential", URL: authURL, AppCredID: "ac-1", Secret: "wrong-s3cret"},
	} {
		_, err := Publish(context.Background(), cfg, Settings{Auth: a}, Options{})
		if err == nil {
			t.Fatalf("%s: no error", a.Type)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, "refused (HTTP 401)") || strings.Contains(msg, "wrong-") {
			t.Errorf("%s: error %q: want one line saying the credentials were refused, without the secret", a.Type, msg)
		}
	}
}
