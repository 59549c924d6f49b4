package kscontainer

import (
	"archive/tar"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"gold-standard-images/internal/kickstart"
)

const repoRoot = "../../.."

// Secrets of the fixture that must not reach the image.
const (
	privateBody   = "TOPSECRETPRIVATEKEYBODY"
	plainPassword = "PlainRootPassword-123"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl packer@gold-standard-images"

// fixture is a repository copy with keys (a private one too, which must not
// reach the image), the server binary built once, and the image tarball.
type fixture struct {
	root, binary, tarball string
	targets               []kickstart.Target
}

var (
	once  sync.Once
	fx    fixture
	fxErr error
	fxDir string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fxDir != "" {
		os.RemoveAll(fxDir)
	}
	os.Exit(code)
}

func setup(t *testing.T) fixture {
	t.Helper()
	once.Do(func() {
		fxDir, fxErr = os.MkdirTemp("", "kscontainer-")
		if fxErr != nil {
			return
		}
		fx.root = filepath.Join(fxDir, "repo")
		for _, dir := range []string{"http", "templates/os", "cmd"} {
			if fxErr = exec.Command("cp", "-r", filepath.Join(repoRoot, dir), filepath.Join(fx.root, dir)).Run(); fxErr != nil {
				os.MkdirAll(filepath.Join(fx.root, filepath.Dir(dir)), 0o755)
				if fxErr = exec.Command("cp", "-r", filepath.Join(repoRoot, dir), filepath.Join(fx.root, dir)).Run(); fxErr != nil {
					return
				}
			}
		}
		os.MkdirAll(filepath.Join(fx.root, "keys"), 0o755)
		os.WriteFile(filepath.Join(fx.root, "keys", "packer.pub"), []byte(testKey+"\n"), 0o644)
		os.WriteFile(filepath.Join(fx.root, "keys", "packer"), []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n"+privateBody+"\n"), 0o600)
		os.WriteFile(filepath.Join(fx.root, "templates", "site.json"), []byte(`{"root_pass": "`+plainPassword+`"}`), 0o600)
		var k *kickstart.Kickstarts
		k, fx.targets, fxErr = kickstart.LoadAll(fx.root, func(string) string { return "" }, kickstart.Options{})
		if fxErr != nil || k == nil {
			return
		}
		fx.binary = filepath.Join(fxDir, "ksserver")
		abs, _ := filepath.Abs(repoRoot)
		if fxErr = BuildServer(context.Background(), abs, fx.binary); fxErr != nil {
			return
		}
		var img v1.Image
		if img, fxErr = Image(fx.binary, fx.root, fx.targets); fxErr != nil {
			return
		}
		fx.tarball = filepath.Join(fxDir, "ks-image.tar")
		fxErr = WriteTarball(img, fx.tarball)
	})
	if fxErr != nil {
		t.Fatal(fxErr)
	}
	return fx
}

func TestImageHoldsTheServerAndKickstartFilesButNoSecrets(t *testing.T) {
	f := setup(t)
	tag, _ := name.NewTag(Ref)
	img, err := tarball.ImageFromPath(f.tarball, &tag)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(f.tarball); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("tarball mode: %v %v, want 0600", info.Mode(), err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != "/ksserver -root /srv -addr :8080" {
		t.Errorf("entrypoint %q", got)
	}
	if _, ok := cf.Config.ExposedPorts["8080/tcp"]; !ok || len(cf.Config.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v, want 8080/tcp", cf.Config.ExposedPorts)
	}
	if cf.Config.Labels["org.opencontainers.image.title"] != "gold-standard-images kickstart server" {
		t.Errorf("labels %v", cf.Config.Labels)
	}
	if cf.Config.User != "65534:65534" || cf.OS != "linux" {
		t.Errorf("user %q os %q", cf.Config.User, cf.OS)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d %v, want exactly one (no base image)", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]int64{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if h.Typeflag == tar.TypeReg {
			files[h.Name] = h.Mode
		}
		for _, secret := range []string{privateBody, plainPassword} {
			if strings.Contains(string(data), secret) {
				t.Errorf("%s holds %q", h.Name, secret)
			}
		}
	}
	for _, want := range []string{"ksserver", "srv/targets.json", "srv/keys/packer.pub", "srv/http/builds/defaults", "srv/http/builds/metal/example", "srv/http/builds/virtual/gcp", "srv/http/templates/rhel7.ks.tmpl"} {
		if _, ok := files[want]; !ok {
			t.Errorf("the layer lacks %s", want)
		}
	}
	if files["ksserver"] != 0o755 {
		t.Errorf("ksserver mode %o", files["ksserver"])
	}
	for f := range files {
		if strings.HasPrefix(f, "srv/keys/") && f != "srv/keys/packer.pub" || strings.Contains(f, "site.json") || strings.Contains(f, "templates/os") {
			t.Errorf("the layer holds %s", f)
		}
	}
	bin, err := elf.Open(f.binary)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range bin.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("ksserver is dynamically linked (program header %v): it must run on an empty image", p.Type)
		}
	}
	bin.Close()

	// The image survives a round trip through a registry.
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	ref, _ := name.ParseReference(strings.TrimPrefix(reg.URL, "http://")+"/gold/ks:test", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := pulled.Digest()
	if d1 != d2 {
		t.Errorf("registry digest %s, want %s", d2, d1)
	}
}

func TestServerBinaryServesTheFilesOfTheImageLayout(t *testing.T) {
	f := setup(t)
	// Lay the files out as the image does and run the binary on them.
	srv := t.TempDir()
	for _, d := range []string{"http", "keys"} {
		if err := exec.Command("cp", "-r", filepath.Join(f.root, d), srv).Run(); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(srv, "keys", "packer"))
	tj, _ := kickstart.MarshalTargets(f.targets)
	os.WriteFile(filepath.Join(srv, "targets.json"), tj, 0o644)
	port := freePort(t)
	cmd := exec.Command(f.binary, "-root", srv, "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	var log strings.Builder
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	body := fetch(t, fmt.Sprintf("http://127.0.0.1:%d/ks.php?build=metal/example&os=CentOS-7.9.2009", port))
	if !strings.Contains(body, "volgroup web01_rootvg") {
		t.Errorf("kickstart:\n%s", body)
	}
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Errorf("ksserver after SIGINT: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), `200 GET "/ks.php?build=metal/example&os=CentOS-7.9.2009"`) {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestUpAndDownWithPodman(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatal("podman is not installed: the integration test needs it (scripts/host/install-test-tools.sh installs it)")
	}
	f := setup(t)
	e := Engine{Name: "podman", GlobalFlags: []string{"--runtime", "runc"}, RunFlags: []string{"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}, Container: ContainerNameFor(t.TempDir())}
	ctx := t.Context()
	t.Cleanup(func() { e.Down(context.Background()) })
	if err := e.Down(ctx); err != nil {
		t.Fatalf("down with none running: %v", err)
	}
	port := freePort(t)
	for i := 0; i < 2; i++ {
		if err := e.Up(ctx, f.tarball, port); err != nil {
			t.Fatalf("up #%d: %v", i+1, err)
		}
	}
	if n, err := e.Count(ctx); err != nil || n != 1 {
		t.Errorf("after two ups: %d containers (%v), want 1", n, err)
	}
	body := fetch(t, fmt.Sprintf("http://127.0.0.1:%d/ks?build=virtual/aws&os=CentOS-7.9.2009", port))
	if !strings.Contains(body, "url --url=https://vault.centos.org/7.9.2009/os/x86_64") || !strings.Contains(body, testKey) {
		t.Errorf("kickstart from the container:\n%s", body)
	}
	if err := e.Down(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.Count(ctx); n != 0 {
		t.Errorf("after down: %d containers", n)
	}
	if err := e.Down(ctx); err != nil {
		t.Errorf("second down: %v", err)
	}
}

func TestEngineFromEnvHonoursTheVariables(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatal("podman is not installed: the test needs it (scripts/host/install-test-tools.sh installs it)")
	}
	env := map[string]string{"CONTAINER_ENGINE": "podman", "CONTAINER_ENGINE_FLAGS": "--runtime runc", "CONTAINER_RUN_FLAGS": " --ulimit nofile=1024:1024  --ulimit nproc=1024:1024 "}
	e, err := EngineFromEnv(t.Context(), func(k string) string { return env[k] }, "/srv/checkout")
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "podman" || strings.Join(e.GlobalFlags, "|") != "--runtime|runc" || strings.Join(e.RunFlags, "|") != "--ulimit|nofile=1024:1024|--ulimit|nproc=1024:1024" {
		t.Errorf("engine %+v: the variables' flags must be taken as they are", e)
	}
	env["CONTAINER_ENGINE"] = "no-such-engine"
	if _, err := EngineFromEnv(t.Context(), func(k string) string { return env[k] }, "/srv/checkout"); err == nil || !strings.Contains(err.Error(), `CONTAINER_ENGINE="no-such-engine"`) {
		t.Errorf("unknown engine: %v", err)
	}
}

func TestContainerNameIsStableAndDiffersPerCheckout(t *testing.T) {
	a, b := ContainerNameFor("/srv/one/gold-standard-images"), ContainerNameFor("/srv/two/gold-standard-images")
	if a == b || a != ContainerNameFor("/srv/one/gold-standard-images") || !strings.HasPrefix(a, "gsi-ks-") || len(a) != len("gsi-ks-")+8 {
		t.Errorf("names %q and %q, want distinct stable gsi-ks-<8 hex>", a, b)
	}
	if ContainerNameFor("/srv/one/gold-standard-images/.") != a {
		t.Errorf("the same checkout spelled differently gets another name")
	}
}

// TestUpWorksOutOfTheBoxForTwoCheckouts runs ks:up's engine as chosen with
// no CONTAINER_* variable set (docker only where its daemon answers, else
// podman with the flags this host needs) for two checkouts at once: both
// serve, and removing one leaves the other.
func TestUpWorksOutOfTheBoxForTwoCheckouts(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatal("podman is not installed: the integration test needs it (scripts/host/install-test-tools.sh installs it)")
	}
	f := setup(t)
	ctx := t.Context()
	noVars := func(string) string { return "" }
	var engines []Engine
	var ports []int
	for i := 0; i < 2; i++ {
		e, err := EngineFromEnv(ctx, noVars, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("engine %s, global flags %q, run flags %q, notes %q", e.Name, e.GlobalFlags, e.RunFlags, e.Notes)
		t.Cleanup(func() { e.Down(context.Background()) })
		port := freePort(t)
		if err := e.Up(ctx, f.tarball, port); err != nil {
			t.Fatalf("up of checkout %d: %v", i+1, err)
		}
		engines, ports = append(engines, e), append(ports, port)
	}
	for _, port := range ports {
		body := fetch(t, fmt.Sprintf("http://127.0.0.1:%d/ks?build=metal/example&os=CentOS-7.9.2009", port))
		if !strings.Contains(body, "volgroup web01_rootvg") {
			t.Errorf("kickstart on port %d:\n%s", port, body)
		}
	}
	if err := engines[0].Down(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := engines[1].Count(ctx); err != nil || n != 1 {
		t.Errorf("the other checkout's container: %d (%v), want still 1", n, err)
	}
}

// TestPodmanWithoutItsDefaultRuntimeGetsRunc gives podman a default
// runtime that is not installed (through its own CONTAINERS_CONF), as on
// hosts where podman needs --runtime runc: EngineFromEnv must find that
// and the container must run.
func TestPodmanWithoutItsDefaultRuntimeGetsRunc(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatal("podman is not installed: the integration test needs it (scripts/host/install-test-tools.sh installs it)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Fatal("runc is not installed: the test needs it (scripts/host/install-test-tools.sh installs podman, which brings it)")
	}
	f := setup(t)
	conf := filepath.Join(t.TempDir(), "containers.conf")
	if err := os.WriteFile(conf, []byte("[engine]\nruntime = \"no-such-runtime\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONTAINERS_CONF", conf) // read by podman, not by this code
	ctx := t.Context()
	e, err := EngineFromEnv(ctx, func(k string) string { return map[string]string{"CONTAINER_ENGINE": "podman"}[k] }, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(e.GlobalFlags, " ") != "--runtime runc" || len(e.Notes) != 1 || !strings.Contains(e.Notes[0], "--runtime runc") {
		t.Fatalf("engine %+v, want --runtime runc and a note saying so", e)
	}
	t.Cleanup(func() { e.Down(context.Background()) })
	port := freePort(t)
	if err := e.Up(ctx, f.tarball, port); err != nil {
		t.Fatal(err)
	}
	if body := fetch(t, fmt.Sprintf("http://127.0.0.1:%d/ks?build=virtual/aws&os=CentOS-7.9.2009", port)); !strings.Contains(body, testKey) {
		t.Errorf("kickstart from the container:\n%s", body)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// fetch GETs url, retrying while the server starts (up to 30s).
func fetch(t *testing.T, url string) string {
	t.Helper()
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			last = err
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
		}
		return string(body)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}
