package glanceimage

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/uploadtest"
)

// needTool returns the path of a tool the test needs: missing, the test
// fails in CI (install-test-tools.sh installs it) and is skipped elsewhere.
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is needed for this test (apt-get install %s): %v", name, pkg, err)
	}
	t.Skipf("%s not installed (apt-get install %s)", name, pkg)
	return ""
}

// glance is the one glance-api of this test binary, started by the first
// test that needs it and stopped by TestMain; each test uses image names
// of its own (a version of its own).
var glance struct {
	once sync.Once
	url  string
	err  error
	stop func()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if glance.stop != nil {
		glance.stop()
	}
	os.Exit(code)
}

// startGlance returns the URL of the test binary's Glance: Debian's
// glance-api on a free loopback port without Keystone (the paste pipeline
// with the unauthenticated context), with a sqlite database and the file
// store in a temporary folder.
func startGlance(t testing.TB) string {
	t.Helper()
	api := needTool(t, "glance-api", "glance-api")
	manage := needTool(t, "glance-manage", "glance-api")
	glance.once.Do(func() { glance.url, glance.stop, glance.err = runGlance(api, manage) })
	if glance.err != nil {
		t.Fatal(glance.err)
	}
	return glance.url
}

func runGlance(api, manage string) (string, func(), error) {
	paste := "/usr/share/glance-common/glance-api-paste.ini"
	if _, err := os.Stat(paste); err != nil {
		paste = "/etc/glance/glance-api-paste.ini"
	}
	dir, err := os.MkdirTemp("", "glance-test-")
	if err != nil {
		return "", nil, err
	}
	stop := func() { os.RemoveAll(dir) }
	for _, d := range []string{"images", "staging", "tasks", "lock"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return "", stop, err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", stop, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(dir, "glance-api.conf")
	text := fmt.Sprintf(`[DEFAULT]
bind_host = 127.0.0.1
bind_port = %d
workers = 0
enabled_backends = fs:file
log_file = %[2]s/glance-api.log
[database]
connection = sqlite:///%[2]s/glance.sqlite
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = %[2]s/images
[os_glance_staging_store]
filesystem_store_datadir = %[2]s/staging
[os_glance_tasks_store]
filesystem_store_datadir = %[2]s/tasks
[oslo_concurrency]
lock_path = %[2]s/lock
[paste_deploy]
flavor =
config_file = %[3]s
`, port, dir, paste)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return "", stop, err
	}
	if err := run.Run(context.Background(), run.Cmd{Name: manage, Args: []string{"--config-file", conf, "db_sync"}, Timeout: 3 * time.Minute,
		Hint: "glance-manage stalled on the sqlite database"}); err != nil {
		return "", stop, fmt.Errorf("glance-manage db_sync: %w", err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(api, "--config-file", conf)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return "", stop, fmt.Errorf("starting glance-api: %w", err)
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait(); os.RemoveAll(dir) }
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get(url + "/v2/images")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url, stop, nil
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "glance-api.log"))
			return "", stop, fmt.Errorf("glance-api did not answer on %s: %v\n%s\n%s", url, err, logs.String(), log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// testConfig is a configuration of version rooted in a temporary folder
// holding an openstack artifact: a real qcow2 (Glance inspects the format)
// with mib MiB of data written by qemu-img from a raw file.
func testConfig(t *testing.T, version string, mib int, seed byte) *config.Config {
	t.Helper()
	qemuImg := needTool(t, "qemu-img", "qemu-utils")
	cfg := &config.Config{Root: t.TempDir(), Site: config.Defaults(), OS: config.OS{VMName: "CentOS-7.9.2009", OSName: "CentOS", OSVersion: "7.9.2009"}}
	cfg.Site.Version = version
	raw := filepath.Join(t.TempDir(), "disk.raw")
	data := make([]byte, mib<<20)
	for i := range data {
		data[i] = byte(i*31+i>>11) ^ seed
	}
	if err := os.WriteFile(raw, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(cfg.Root, Source(cfg))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := run.Run(context.Background(), run.Cmd{Name: qemuImg, Args: []string{"convert", "-f", "raw", "-O", "qcow2", raw, out}, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	uploadtest.Checksum(t, out)
	return cfg
}

func sha512File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(data)
	return hex.EncodeToString(sum[:])
}

// glanceClient is a client of the test's Glance, for looking at what
// Publish left there.
func glanceClient(t *testing.T, url string) *gophercloud.ServiceClient {
	t.Helper()
	c, _, err := Connect(context.Background(), Auth{Type: "none", Endpoint: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func listNamed(t *testing.T, c *gophercloud.ServiceClient, name string) []images.Image {
	t.Helper()
	pages, err := images.List(c, images.ListOpts{Name: name, Visibility: "all"}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all, err := images.ExtractImages(pages)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestPublishWithoutKeystoneCreatesUploadsChecksAndARerunSkips(t *testing.T) {
	glance := startGlance(t)
	cfg := testConfig(t, "1.0.0", 3, 0)
	s := Settings{Auth: Auth{Type: "none", Endpoint: glance}, Visibility: "community", Protected: true}
	var out bytes.Buffer
	res, err := Publish(context.Background(), cfg, s, Options{Out: &out, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.ID == "" || res.Name != "CentOS-7.9.2009-1.0.0_openstack" {
		t.Fatalf("first run: %+v", res)
	}
	if !strings.Contains(out.String(), "glance: CentOS-7.9.2009-1.0.0_openstack") {
		t.Errorf("no upload progress line in:\n%s", out.String())
	}
	c := glanceClient(t, glance)
	img, err := images.Get(context.Background(), c, res.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(cfg.Root, Source(cfg))
	info, _ := os.Stat(file)
	checks := []struct{ what, got, want string }{
		{"status", string(img.Status), "active"},
		{"disk_format", img.DiskFormat, "qcow2"},
		{"container_format", img.ContainerFormat, "bare"},
		{"visibility", string(img.Visibility), "community"},
		{"protected", fmt.Sprint(img.Protected), "true"},
		{"tags", strings.Join(slices.Sorted(slices.Values(img.Tags)), ","), "1.0.0,packer"},
		{"size", fmt.Sprint(img.SizeBytes), fmt.Sprint(info.Size())},
		{"os_hash_algo", fmt.Sprint(img.Properties["os_hash_algo"]), "sha512"},
		{"os_hash_value", fmt.Sprint(img.Properties["os_hash_value"]), sha512File(t, file)},
		{"os_distro", fmt.Sprint(img.Properties["os_distro"]), "centos"},
		{"os_version", fmt.Sprint(img.Properties["os_version"]), "7.9.2009"},
		{"hw_disk_bus", fmt.Sprint(img.Properties["hw_disk_bus"]), "virtio"},
		{"hw_qemu_guest_agent", fmt.Sprint(img.Properties["hw_qemu_guest_agent"]), "yes"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.what, ch.got, ch.want)
		}
	}

	again, err := Publish(context.Background(), cfg, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Skipped || again.ID != res.ID {
		t.Errorf("re-run: %+v, want the image %s skipped", again, res.ID)
	}
	if n := len(listNamed(t, c, res.Name)); n != 1 {
		t.Errorf("%d images named %s after the re-run, want 1", n, res.Name)
	}

	// Other data under the same name: refused, then replaced with FORCE
	// (the protected image is unprotected and deleted).
	other := testConfig(t, "1.0.0", 1, 0x5a)
	if _, err := Publish(context.Background(), other, s, Options{}); err == nil || !strings.Contains(err.Error(), "FORCE=1") {
		t.Fatalf("other data without FORCE: %v, want a refusal naming FORCE=1", err)
	}
	s.Force = true
	forced, err := Publish(context.Background(), other, s, Options{PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if forced.Skipped || forced.ID == res.ID || len(forced.Removed) != 1 || forced.Removed[0] != res.ID {
		t.Errorf("FORCE: %+v, want a new image replacing %s", forced, res.ID)
	}
	if left := listNamed(t, c, res.Name); len(left) != 1 || left[0].ID != forced.ID {
		t.Errorf("after FORCE: %d images, want only %s", len(left), forced.ID)
	}
}

// cuttingProxy forwards connections to target and cuts a request's
// connection after it has passed limit bytes upstream while armed; with
// corrupt it changes one byte past limit instead (one that cannot be part
// of HTTP's chunk framing) and goes on, as a bad network card would.
type cuttingProxy struct {
	target  string
	limit   int64
	corrupt bool
	armed   atomic.Bool
	cuts    atomic.Int32
	mu      sync.Mutex
	conns   []net.Conn // closed at the end, idle keep-alive ones too
}

func startCuttingProxy(t *testing.T, target string, limit int64) (*cuttingProxy, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{target: strings.TrimPrefix(target, "http://"), limit: limit}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(c)
			}()
		}
	}()
	return p, "http://" + l.Addr().String()
}

func (p *cuttingProxy) serve(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(c, up)
		close(done)
	}()
	var sent int64
	flipped := false
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			sent += int64(n)
			if p.corrupt && p.armed.Load() && sent > p.limit && !flipped {
				for i := max(0, n-int(sent-p.limit)); i < n; i++ {
					if buf[i] >= 0x80 { // never a chunk-size digit or CRLF
						buf[i] ^= 0x01
						flipped = true
						p.cuts.Add(1)
						break
					}
				}
			}
			if !p.corrupt && p.armed.Load() && sent > p.limit {
				p.cuts.Add(1)
				up.Write(buf[:n-int(min(int64(n), sent-p.limit))])
				// A reset, as a dropped network would leave it.
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
				return
			}
			if _, err := up.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			up.(*net.TCPConn).CloseWrite()
			<-done
			return
		}
	}
}

func TestACutUploadLeavesNoImageAndTheNextRunUploads(t *testing.T) {
	glance := startGlance(t)
	cfg := testConfig(t, "2.0.0", 4, 1)
	proxy, via := startCuttingProxy(t, glance, 1<<20)
	s := Settings{Auth: Auth{Type: "none", Endpoint: via}}
	proxy.armed.Store(true)
	_, err := Publish(context.Background(), cfg, s, Options{PollInterval: 100 * time.Millisecond})
	if err == nil || proxy.cuts.Load() == 0 {
		t.Fatalf("upload through a cut connection: err %v, %d cuts", err, proxy.cuts.Load())
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "uploading") {
		t.Errorf("error %q: want one line saying the upload failed", err)
	}
	c := glanceClient(t, glance)
	name := ImageName(cfg)
	if left := listNamed(t, c, name); len(left) != 0 {
		t.Errorf("the failed upload left %d images (first %s, %s)", len(left), left[0].ID, left[0].Status)
	}
	proxy.armed.Store(false)
	res, err := Publish(context.Background(), cfg, s, Options{PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped {
		t.Errorf("re-run after the cut: %+v, want an upload", res)
	}
}

func TestDataDamagedOnTheWayIsCaughtByGlancesHashAndNotKept(t *testing.T) {
	glance := startGlance(t)
	cfg := testConfig(t, "7.0.0", 3, 4)
	proxy, via := startCuttingProxy(t, glance, 2<<20)
	proxy.corrupt = true
	proxy.armed.Store(true)
	_, err := Publish(context.Background(), cfg, Settings{Auth: Auth{Type: "none", Endpoint: via}}, Options{PollInterval: 100 * time.Millisecond})
	if proxy.cuts.Load() != 1 {
		t.Fatalf("the proxy changed %d bytes, want 1", proxy.cuts.Load())
	}
	if err == nil || !strings.Contains(err.Error(), "Glance holds other data") || !strings.Contains(err.Error(), "sha512") {
		t.Fatalf("error %v: want the hash mismatch named", err)
	}
	if left := listNamed(t, glanceClient(t, glance), ImageName(cfg)); len(left) != 0 {
		t.Errorf("the damaged image was kept: %s %s", left[0].ID, left[0].Status)
	}
}

func TestAnImageLeftByAnInterruptedRunIsDeletedAndReplaced(t *testing.T) {
	glance := startGlance(t)
	cfg := testConfig(t, "3.0.0", 4, 2)
	name := ImageName(cfg)
	c := glanceClient(t, glance)
	ctx := context.Background()
	// What a run killed mid-upload leaves: an image of ours, queued or
	// saving, whose upload connection was cut.
	proxy, via := startCuttingProxy(t, glance, 1<<20)
	proxy.armed.Store(true)
	viaClient := glanceClient(t, via)
	leftover, err := images.Create(ctx, c, images.CreateOpts{Name: name, DiskFormat: "qcow2", ContainerFormat: "bare", Tags: []string{Tag}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(cfg.Root, Source(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := imagedata.Upload(ctx, viaClient, leftover.ID, f).ExtractErr(); err == nil {
		t.Fatal("the upload through the cut connection succeeded")
	}
	// And a queued one, created but never uploaded.
	queued, err := images.Create(ctx, c, images.CreateOpts{Name: name, DiskFormat: "qcow2", ContainerFormat: "bare", Tags: []string{Tag}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	before := listNamed(t, c, name)
	states := map[string]string{}
	for _, img := range before {
		states[img.ID] = string(img.Status)
	}
	t.Logf("left behind: %v", states)

	res, err := Publish(ctx, cfg, Settings{Auth: Auth{Type: "none", Endpoint: glance}}, Options{PollInterval: 100 * time.Millisecond, StaleAfter: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 2 || res.Skipped {
		t.Errorf("result %+v: want %s and %s removed and a new upload", res, leftover.ID, queued.ID)
	}
	after := listNamed(t, c, name)
	if len(after) != 1 || after[0].ID != res.ID || after[0].Status != images.ImageStatusActive {
		t.Errorf("after the run: %d images, want only the active %s", len(after), res.ID)
	}
}

func TestAnImageStillSavingRecentlyIsNotTouchedAndWaitingForItEndsAtTheTimeout(t *testing.T) {
	glance := startGlance(t)
	cfg := testConfig(t, "4.0.0", 1, 3)
	c := glanceClient(t, glance)
	ctx := context.Background()
	// A queued image counts as left behind; one saving within StaleAfter
	// may be another run's upload. Glance puts an image in saving only
	// while data arrives, so hold an upload open through a pipe.
	img, err := images.Create(ctx, c, images.CreateOpts{Name: ImageName(cfg), DiskFormat: "qcow2", ContainerFormat: "bare", Tags: []string{Tag}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	uploadDone := make(chan error, 1)
	go func() { uploadDone <- imagedata.Upload(ctx, c, img.ID, pr).ExtractErr() }()
	data, _ := os.ReadFile(filepath.Join(cfg.Root, Source(cfg)))
	pw.Write(data[:64<<10])
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := images.Get(ctx, c, img.ID).Extract()
		if err == nil && got.Status == images.ImageStatusSaving {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the image never went saving: %v %v", got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, err = Publish(ctx, cfg, Settings{Auth: Auth{Type: "none", Endpoint: glance}}, Options{StaleAfter: time.Hour})
	if err == nil || !strings.Contains(err.Error(), "another upload may be running") {
		t.Errorf("Publish beside a running upload: %v", err)
	}
	// Waiting for an image that stays saving ends at the timeout, named.
	if _, err := waitActive(ctx, c, img.ID, 300*time.Millisecond, 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), `not active after 300ms (last status "saving"); OS_IMAGE_TIMEOUT allows longer`) {
		t.Errorf("waiting for a saving image: %v", err)
	}
	pw.Write(data[64<<10:])
	pw.Close()
	if err := <-uploadDone; err != nil {
		t.Fatalf("the other upload: %v", err)
	}
}

// TestAStalledServerIsGivenUpOnNotWaitedForForever: gophercloud and
// http.DefaultTransport bound only dialing and the TLS handshake, so a
// Keystone or Glance that takes a request and never answers would hang the
// upload; a request that stalls is given up.
func TestAStalledServerIsGivenUpOnNotWaitedForForever(t *testing.T) {
	defer func(d time.Duration) { stallTimeout = d }(stallTimeout)
	stallTimeout = time.Second // healthy requests on a loaded machine stay well within it
	stalled := uploadtest.StalledServer(t)
	cfg := testConfig(t, "1.0.0", 1, 7)
	for name, a := range map[string]Auth{
		"Glance":   {Type: "none", Endpoint: stalled.URL},
		"Keystone": {Type: "token", URL: stalled.URL + "/v3", Token: "t"},
	} {
		t.Run(name, func(t *testing.T) {
			uploadtest.GivesUp(t, func() error {
				_, err := Publish(t.Context(), cfg, Settings{Auth: a}, Options{})
				return err
			})
		})
	}
}
