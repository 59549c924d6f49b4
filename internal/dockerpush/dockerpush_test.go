package dockerpush

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/uploadtest"
)

const vmName = uploadtest.VMName

// fastRetry keeps retry waits short in tests.
var fastRetry = remote.Backoff{Duration: 5 * time.Millisecond, Factor: 2, Steps: 5}

// testConfig returns a configuration rooted in a temporary folder that holds
// a small docker artifact, and the artifact's sha256.
func testConfig(t *testing.T) (*config.Config, string) {
	t.Helper()
	cfg := uploadtest.Config(t)
	data := rootfsTarGz(t)
	uploadtest.WriteArtifact(t, cfg, Source(cfg), data)
	sum := sha256.Sum256(data)
	return cfg, "sha256:" + hex.EncodeToString(sum[:])
}

// rootfsTarGz makes a tiny gzip rootfs with a few files, some of them
// incompressible so the layer spans more than one write.
func rootfsTarGz(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	noise := make([]byte, 256<<10)
	for i := range noise {
		noise[i] = byte(i*7919 + i>>3)
	}
	files := map[string][]byte{"etc/os-release": []byte("NAME=\"CentOS Linux\"\nVERSION_ID=\"7\"\n"), "bin/bash": []byte("#!fake\n"), "var/noise": noise}
	for _, n := range []string{"etc/os-release", "bin/bash", "var/noise"} {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(files[n])), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}); err != nil {
			t.Fatal(err)
		}
		tw.Write(files[n])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// startDockerRegistry runs Debian's docker-registry (uploadtest.DockerRegistry).
func startDockerRegistry(t testing.TB) string { return uploadtest.DockerRegistry(t) }

// requestCounter counts blob uploads (POST/PUT/PATCH under /blobs/uploads/).
type requestCounter struct {
	next    http.Handler
	uploads atomic.Int64
}

func (c *requestCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.uploads.Add(1)
	}
	c.next.ServeHTTP(w, r)
}

func hostOf(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func skopeo(t *testing.T, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Fatalf("skopeo is needed for this test (apt-get install skopeo): %v", err)
	}
	out, err := exec.Command("skopeo", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("skopeo %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func TestPublishToRealRegistryIsReadBackBySkopeoAndGgcrAndSecondPushUploadsNoBlob(t *testing.T) {
	cfg, fileDigest := testConfig(t)
	regAddr := startDockerRegistry(t)
	target, _ := url.Parse("http://" + regAddr)
	counter := &requestCounter{next: httputil.NewSingleHostReverseProxy(target)}
	proxy := httptest.NewServer(counter)
	defer proxy.Close()
	t.Setenv("DOCKER_CONFIG", t.TempDir())

	s, o := Settings{Registry: hostOf(t, proxy), Namespace: "gold"}, Options{Backoff: fastRetry}
	res, err := Publish(context.Background(), cfg, s, o)
	if err != nil {
		t.Fatal(err)
	}
	repo := res.Where
	if want := hostOf(t, proxy) + "/gold/centos-7.9.2009"; repo != want {
		t.Fatalf("repository = %q, want %q", repo, want)
	}
	if counter.uploads.Load() == 0 {
		t.Fatal("first push uploaded no blob through the counting proxy")
	}

	// skopeo against the real registry directly.
	for _, tag := range []string{"1.0.0", "latest"} {
		ref := "docker://" + regAddr + "/gold/centos-7.9.2009:" + tag
		var info struct {
			Architecture, Os string
			Layers           []string
			Labels           map[string]string
		}
		if err := json.Unmarshal(skopeo(t, "inspect", "--tls-verify=false", ref), &info); err != nil {
			t.Fatal(err)
		}
		if info.Architecture != "amd64" || info.Os != "linux" {
			t.Errorf("%s: platform %s/%s, want linux/amd64", tag, info.Os, info.Architecture)
		}
		if len(info.Layers) != 1 || info.Layers[0] != fileDigest {
			t.Errorf("%s: layers %v, want exactly [%s] (sha256 of the .tar.gz)", tag, info.Layers, fileDigest)
		}
		if info.Labels[LabelTitle] != vmName || info.Labels[LabelVersion] != "1.0.0" || info.Labels[LabelCreated] == "" {
			t.Errorf("%s: labels %v", tag, info.Labels)
		}
		var raw struct {
			MediaType string
			Layers    []struct{ MediaType, Digest string }
		}
		if err := json.Unmarshal(skopeo(t, "inspect", "--tls-verify=false", "--raw", ref), &raw); err != nil {
			t.Fatal(err)
		}
		if raw.MediaType != string(types.OCIManifestSchema1) || len(raw.Layers) != 1 || raw.Layers[0].Digest != fileDigest || raw.Layers[0].MediaType != string(types.OCILayer) {
			t.Errorf("%s: raw manifest %+v", tag, raw)
		}
	}

	// go-containerregistry reads the same back, config included.
	ref, err := name.ParseReference(regAddr + "/gold/centos-7.9.2009:latest")
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.Config.Cmd, " "); got != "/bin/bash" {
		t.Errorf("Cmd = %q, want /bin/bash", got)
	}
	layers, _ := img.Layers()
	if d, _ := layers[0].Digest(); d.String() != fileDigest {
		t.Errorf("ggcr layer digest %s, want %s", d, fileDigest)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	pulled, _ := io.ReadAll(rc)
	rc.Close()
	local, _ := os.ReadFile(filepath.Join(cfg.Root, Source(cfg)))
	if !bytes.Equal(pulled, local) {
		t.Error("the pulled layer is not byte for byte the artifact")
	}

	before := counter.uploads.Load()
	if _, err := Publish(context.Background(), cfg, s, o); err != nil {
		t.Fatalf("second push: %v", err)
	}
	if n := counter.uploads.Load() - before; n != 0 {
		t.Errorf("second push made %d blob upload requests, want 0 (blobs already there)", n)
	}
}

// flaky answers 503 to the first request of each method and path (upload
// session ids ignored, as each retry opens a new session), then passes on.
type flaky struct {
	next   http.Handler
	mu     sync.Mutex
	seen   map[string]bool
	served atomic.Int64
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, _, _ := strings.Cut(r.URL.Path, "/blobs/uploads/")
	key := r.Method + " " + path
	f.mu.Lock()
	first := !f.seen[key]
	f.seen[key] = true
	f.mu.Unlock()
	if first && r.URL.Path != "/v2/" {
		f.served.Add(1)
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	f.next.ServeHTTP(w, r)
}

func TestPushRetriesTransient503s(t *testing.T) {
	cfg, fileDigest := testConfig(t)
	f := &flaky{next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))), seen: map[string]bool{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	t.Setenv("DOCKER_CONFIG", t.TempDir())

	res, err := Publish(context.Background(), cfg, Settings{Registry: hostOf(t, srv), Namespace: "gold"}, Options{Backoff: fastRetry})
	if err != nil {
		t.Fatalf("push through 503s: %v", err)
	}
	repo := res.Where
	if f.served.Load() == 0 {
		t.Fatal("the server injected no 503, the test proves nothing")
	}
	img, err := remote.Image(mustRef(t, repo+":1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	if d := layerDigest(t, img); d != fileDigest {
		t.Errorf("layer digest %s, want %s", d, fileDigest)
	}
}

func TestPushGivesUpOnPersistent503WithError(t *testing.T) {
	cfg, _ := testConfig(t)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		hits.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	_, err := Publish(context.Background(), cfg, Settings{Registry: hostOf(t, srv), Namespace: "gold"}, Options{Backoff: fastRetry})
	if err == nil || !strings.Contains(err.Error(), "pushing \""+hostOf(t, srv)+"/gold/centos-7.9.2009:1.0.0\"") {
		t.Fatalf("error = %v, want one naming the reference pushed", err)
	}
	if hits.Load() < 2 {
		t.Errorf("the server saw %d requests, want retries", hits.Load())
	}
}

// basicAuth requires user:secret on every request, as a registry does.
func basicAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "user" || p != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestPushUsesCredentialsFromDockerConfig(t *testing.T) {
	cfg, fileDigest := testConfig(t)
	srv := httptest.NewServer(basicAuth(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))))
	defer srv.Close()
	host := hostOf(t, srv)
	settings, opts := Settings{Registry: host, Namespace: "gold"}, Options{Backoff: fastRetry}

	t.Run("without credentials the error says so", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", t.TempDir())
		_, err := Publish(context.Background(), cfg, settings, opts)
		if err == nil || !strings.Contains(err.Error(), "refused the credentials") {
			t.Fatalf("error = %v, want a credentials error", err)
		}
	})
	t.Run("with config.json the push succeeds", func(t *testing.T) {
		dir := t.TempDir()
		auth := base64.StdEncoding.EncodeToString([]byte("user:secret"))
		conf := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DOCKER_CONFIG", dir)
		res, err := Publish(context.Background(), cfg, settings, opts)
		if err != nil {
			t.Fatal(err)
		}
		repo := res.Where
		img, err := remote.Image(mustRef(t, repo+":latest"), remote.WithAuth(&authn.Basic{Username: "user", Password: "secret"}))
		if err != nil {
			t.Fatal(err)
		}
		if d := layerDigest(t, img); d != fileDigest {
			t.Errorf("layer digest %s, want %s", d, fileDigest)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPushRefusesPlainHTTPToNonLoopbackUnlessInsecure(t *testing.T) {
	cfg, _ := testConfig(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	var httpSeen atomic.Bool
	noNetwork := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Scheme == "http" {
			httpSeen.Store(true)
		}
		return nil, errors.New("no network in this test")
	})
	// 10.0.0.1 is RFC 1918: go-containerregistry alone would use plain HTTP.
	s, o := Settings{Registry: "10.0.0.1:5000", Namespace: "gold"}, Options{Transport: noNetwork, Backoff: remote.Backoff{Steps: 1}}
	_, err := Publish(context.Background(), cfg, s, o)
	if err == nil || !strings.Contains(err.Error(), "plain HTTP") {
		t.Fatalf("error = %v, want the plain HTTP refusal", err)
	}
	if httpSeen.Load() {
		t.Fatal("a plain HTTP request went out although not allowed")
	}
	s.Insecure = true
	_, err = Publish(context.Background(), cfg, s, o)
	if err == nil || strings.Contains(err.Error(), "plain HTTP") || !httpSeen.Load() {
		t.Fatalf("with Insecure: error = %v, http tried = %v; want HTTP tried and a network error", err, httpSeen.Load())
	}
}

func TestDockerOutWritesOCILayoutThatSkopeoReadsAndRerunDoesNotDuplicate(t *testing.T) {
	cfg, fileDigest := testConfig(t)
	out := filepath.Join(t.TempDir(), "oci")
	for range 2 {
		res, err := Publish(context.Background(), cfg, Settings{OutDir: out}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if where := res.Where; where != out {
			t.Fatalf("Publish returned %q, want %q", where, out)
		}
	}
	for _, tag := range []string{"1.0.0", "latest"} {
		var info struct {
			Layers []string
			Labels map[string]string
		}
		if err := json.Unmarshal(skopeo(t, "inspect", "oci:"+out+":"+tag), &info); err != nil {
			t.Fatal(err)
		}
		if len(info.Layers) != 1 || info.Layers[0] != fileDigest || info.Labels[LabelTitle] != vmName {
			t.Errorf("%s: %+v", tag, info)
		}
	}
	var index struct{ Manifests []json.RawMessage }
	data, err := os.ReadFile(filepath.Join(out, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 2 {
		t.Errorf("index.json has %d entries after two runs, want 2 (one per tag)", len(index.Manifests))
	}
}

func TestPublishErrors(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(cfg *config.Config)
		set    Settings
		expect string
	}{
		{"missing artifact names the file and the build", func(cfg *config.Config) {
			os.Remove(filepath.Join(cfg.Root, Source(cfg)))
		}, Settings{Registry: "localhost:5000"}, "artifacts/1.0.0/CentOS-7.9.2009/docker/CentOS-7.9.2009-1.0.0_docker.tar.gz\" not found; build it first"},
		{"no registry says how to set one", func(*config.Config) {}, Settings{}, "set REGISTRY=host[:port]"},
		{"not gzip is refused", func(cfg *config.Config) {
			uploadtest.WriteArtifact(t, cfg, Source(cfg), []byte("plain tar?"))
		}, Settings{Registry: "localhost:5000"}, "want a gzip-compressed tar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := testConfig(t)
			tt.setup(cfg)
			_, err := Publish(context.Background(), cfg, tt.set, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.expect) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.expect)
			}
		})
	}
}

func TestSettingsFromEnvPrefersEnvironmentOverSite(t *testing.T) {
	site := config.Defaults()
	site.Registry = "registry.example.com"
	env := map[string]string{"REGISTRY": "localhost:5000", "REGISTRY_NAMESPACE": "team", "REGISTRY_INSECURE": "1", "DOCKER_OUT": "/tmp/x"}
	s, err := SettingsFromEnv(site, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if s.Registry != "localhost:5000" || s.Namespace != "team" || !s.Insecure || s.OutDir != "/tmp/x" {
		t.Errorf("from env: %+v", s)
	}
	s, err = SettingsFromEnv(site, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if s.Registry != "registry.example.com" || s.Namespace != "gold" || s.Insecure || s.OutDir != "" {
		t.Errorf("from site: %+v", s)
	}
	// The original's upper-case namespace: the repository takes it in lower case.
	site.Namespace = "TSI-CC"
	s, err = SettingsFromEnv(site, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got := Repository(s.Registry, s.Namespace, "CentOS-7.9.2009"); got != "registry.example.com/tsi-cc/centos-7.9.2009" {
		t.Errorf("repository of namespace TSI-CC = %q", got)
	}
}

func TestSettingsFromEnvReadsRegistryInsecureAsASwitch(t *testing.T) {
	site := config.Defaults()
	site.RegistryInsecure = true
	s, err := SettingsFromEnv(site, func(k string) string { return map[string]string{"REGISTRY_INSECURE": "0"}[k] })
	if err != nil || s.Insecure {
		t.Errorf("REGISTRY_INSECURE=0 over a site's true: %+v, %v", s, err)
	}
	_, err = SettingsFromEnv(site, func(k string) string { return map[string]string{"REGISTRY_INSECURE": "maybe"}[k] })
	if want := `reading environment variable REGISTRY_INSECURE="maybe": want 1 or 0`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestIsLoopbackTrustsLocalhostAndLoopbackAddressesOnly(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost:5000": true, "127.0.0.1:5000": true, "127.8.9.10": true, "[::1]:5000": true,
		"10.0.0.1:5000": false, "192.168.1.2": false, "registry.example.com": false, "localhost.example.com:5000": false,
		"127.evil.example": false, "127.0.0.1.nip.io:5000": false, "reg.localhost:80": false, "[::ffff:10.0.0.1]": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestRepositoryLowercasesAndJoins(t *testing.T) {
	if got := Repository("https://Reg.example.com:5000/", "/Gold/", "CentOS-7.9.2009"); got != "reg.example.com:5000/gold/centos-7.9.2009" {
		t.Errorf("got %q", got)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func layerDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %v, %d", err, len(layers))
	}
	d, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestResultStringIsTheLineUploadDockerPrints(t *testing.T) {
	r := Result{Name: vmName, Tags: []string{"1.0.0", "latest"}, Where: "localhost:5000/gold/centos-7.9.2009"}
	if got, want := r.String(), "CentOS-7.9.2009:1.0.0 and :latest written to localhost:5000/gold/centos-7.9.2009"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestSettingsFromEnvRejectsRegistriesAndNamespacesOutsideTheGrammar(t *testing.T) {
	for _, tc := range []struct {
		registry, namespace string
		wantErr             string
	}{
		{"registry.example.com:5000", "gold/images", ""},
		{"https://127.0.0.1:5000/", "team_a/sub-b", ""},
		{"[::1]:5000", "", ""},
		{"registry.example.com/path", "gold", `registry "registry.example.com/path" (REGISTRY`},
		{"user:pw@registry.example.com", "gold", `want host[:port]`},
		{"registry.example.com", "../etc", `registry namespace "../etc" (REGISTRY_NAMESPACE`},
		{"registry.example.com", "gold//images", `want path components`},
		{"registry.example.com", "gold/-x", `want path components`},
	} {
		env := map[string]string{"REGISTRY": tc.registry, "REGISTRY_NAMESPACE": tc.namespace}
		_, err := SettingsFromEnv(config.Defaults(), func(k string) string { return env[k] })
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("REGISTRY=%q REGISTRY_NAMESPACE=%q: %v", tc.registry, tc.namespace, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("REGISTRY=%q REGISTRY_NAMESPACE=%q: error %v, want %q", tc.registry, tc.namespace, err, tc.wantErr)
		}
	}
}

// sha256Of is the digest string of data.
func sha256Of(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// withGzipTime is the gzip file data with another modification time in its
// header: the same size and content, other bytes.
func withGzipTime(data []byte) []byte {
	out := bytes.Clone(data)
	out[4]++
	return out
}

// rewrite writes data to path in place (keeping its inode) and dates it
// mtime.
func rewrite(t *testing.T, path string, data []byte, mtime time.Time) []byte {
	t.Helper()
	must(t, os.WriteFile(path, data, 0o644))
	must(t, os.Chtimes(path, mtime, mtime))
	return data
}

func TestRePushTrustsTheLayerRecordOnlyWhileSizeMtimeAndInodeMatch(t *testing.T) {
	tests := []struct {
		name string
		// change rewrites the pushed tarball at path (old content, old
		// modification time) and returns its new content.
		change func(t *testing.T, path string, old []byte, mtime time.Time) []byte
		reread bool
	}{
		{"the same size, mtime and inode reuse the record and never read the file", func(t *testing.T, path string, old []byte, mtime time.Time) []byte {
			// Not even gzip: any read for hashing would refuse it.
			return rewrite(t, path, bytes.Repeat([]byte{'x'}, len(old)), mtime)
		}, false},
		{"a new mtime re-hashes", func(t *testing.T, path string, old []byte, mtime time.Time) []byte {
			return rewrite(t, path, withGzipTime(old), mtime.Add(time.Second))
		}, true},
		{"a new size re-hashes", func(t *testing.T, path string, old []byte, mtime time.Time) []byte {
			var buf bytes.Buffer
			z := gzip.NewWriter(&buf)
			z.Write([]byte("another tar, another size"))
			z.Close()
			return rewrite(t, path, buf.Bytes(), mtime)
		}, true},
		{"a new inode re-hashes", func(t *testing.T, path string, old []byte, mtime time.Time) []byte {
			data := rewrite(t, path+".new", withGzipTime(old), mtime)
			must(t, os.Rename(path+".new", path))
			return data
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, firstDigest := testConfig(t)
			counter := &requestCounter{next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
			srv := httptest.NewServer(counter)
			defer srv.Close()
			t.Setenv("DOCKER_CONFIG", t.TempDir())
			s, o := Settings{Registry: hostOf(t, srv), Namespace: "gold"}, Options{Backoff: fastRetry}
			res, err := Publish(context.Background(), cfg, s, o)
			must(t, err)
			path := filepath.Join(cfg.Root, Source(cfg))
			old, err := os.ReadFile(path)
			must(t, err)
			st, err := os.Stat(path)
			must(t, err)
			firstDiffID := diffID(t, res.Where)

			data := tt.change(t, path, old, st.ModTime())
			uploadtest.Checksum(t, path) // as artifacts:checksum would
			before := counter.uploads.Load()
			if _, err := Publish(context.Background(), cfg, s, o); err != nil {
				t.Fatalf("re-push: %v", err)
			}
			uploads := counter.uploads.Load() - before
			got, gotDiffID := layerDigest(t, remoteImage(t, res.Where)), diffID(t, res.Where)
			if !tt.reread {
				if got != firstDigest || gotDiffID != firstDiffID || uploads != 0 {
					t.Errorf("re-push: layer %s diffID %s, %d upload requests; want the recorded %s and %s and none", got, gotDiffID, uploads, firstDigest, firstDiffID)
				}
				return
			}
			z, err := gzip.NewReader(bytes.NewReader(data))
			must(t, err)
			tarData, err := io.ReadAll(z)
			must(t, err)
			if got != sha256Of(data) || gotDiffID != sha256Of(tarData) || uploads == 0 {
				t.Errorf("re-push: layer %s diffID %s, %d upload requests; want the new file's %s and %s, uploaded", got, gotDiffID, uploads, sha256Of(data), sha256Of(tarData))
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func remoteImage(t *testing.T, repo string) v1.Image {
	t.Helper()
	img, err := remote.Image(mustRef(t, repo+":1.0.0"))
	must(t, err)
	return img
}

// diffID is the diffID of the one layer of repo:1.0.0, from its config.
func diffID(t *testing.T, repo string) string {
	t.Helper()
	cf, err := remoteImage(t, repo).ConfigFile()
	must(t, err)
	if len(cf.RootFS.DiffIDs) != 1 {
		t.Fatalf("config lists %d diffIDs, want 1", len(cf.RootFS.DiffIDs))
	}
	return cf.RootFS.DiffIDs[0].String()
}

// TestAStalledRegistryIsGivenUpOnNotWaitedForForever: go-containerregistry
// and http.DefaultTransport bound only dialing and the TLS handshake, so a
// registry that takes a request and never answers would hang the push; a
// request that stalls is given up and tried again, the layer upload
// included (through a proxy to the real docker-registry that stalls it).
func TestAStalledRegistryIsGivenUpOnNotWaitedForForever(t *testing.T) {
	defer func(d time.Duration) { stallTimeout = d }(stallTimeout)
	stallTimeout = time.Second // healthy requests on a loaded machine stay well within it
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	tests := []struct {
		name  string
		stall func(*http.Request) bool
		next  func(t *testing.T) http.Handler
	}{
		{"a registry that never answers", func(*http.Request) bool { return true }, nil},
		{"a layer upload to the real registry", func(r *http.Request) bool {
			return r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/blobs/uploads/")
		}, func(t *testing.T) http.Handler {
			target, _ := url.Parse("http://" + startDockerRegistry(t))
			return httputil.NewSingleHostReverseProxy(target)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stalled *httptest.Server
			var next http.Handler = http.NotFoundHandler()
			if tt.next != nil {
				next = tt.next(t)
			}
			var stalls atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.stall(r) {
					stalls.Add(1)
					stalled.Config.Handler.ServeHTTP(w, r)
					return
				}
				next.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			stalled = uploadtest.StalledServer(t) // released before srv closes
			srv.Start()
			cfg, _ := testConfig(t)
			uploadtest.GivesUp(t, func() error {
				_, err := Publish(t.Context(), cfg, Settings{Registry: hostOf(t, srv), Namespace: "gold"}, Options{Backoff: fastRetry})
				return err
			})
			if stalls.Load() < 2 {
				t.Errorf("%d requests stalled, want them tried again", stalls.Load())
			}
		})
	}
}
