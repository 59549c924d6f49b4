package vsphereimport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"gold-standard-images/internal/config"
	"gold-standard-images/internal/ova"
	"gold-standard-images/internal/redact"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/uploadtest"
)

const (
	user     = "builder@vsphere.local"
	password = "s3cret-Pa55"
)

// startVCenter runs govmomi's simulator (the VPX model: a vCenter with one
// datacenter, a cluster and a standalone host) in-process, taking only
// user/password, and returns its URL without the user.
func startVCenter(t *testing.T) string {
	t.Helper()
	u, _ := startVCenterCutting(t)
	return u
}

// nfcCutter cuts, while armed, the connection of a disk upload (a POST
// under /nfc/) after 64 KiB of its body, as a dropped network would; with
// stalled set, it hands the upload to that server instead.
type nfcCutter struct {
	next    http.Handler
	armed   atomic.Bool
	cuts    atomic.Int32
	stalled atomic.Pointer[httptest.Server]
}

func (c *nfcCutter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s := c.stalled.Load(); s != nil && r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/nfc/") {
		s.Config.Handler.ServeHTTP(w, r)
		return
	}
	if c.armed.Load() && r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/nfc/") {
		io.CopyN(io.Discard, r.Body, 64<<10)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.cuts.Add(1)
			conn.Close()
			return
		}
	}
	c.next.ServeHTTP(w, r)
}

// startVCenterCutting is startVCenter with an nfcCutter in front of the
// simulator's handler (set before its first request).
func startVCenterCutting(t *testing.T) (string, *nfcCutter) {
	t.Helper()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Remove)
	m.Service.Listen = &url.URL{User: url.UserPassword(user, password)}
	s := m.Service.NewServer()
	t.Cleanup(s.Close)
	cutter := &nfcCutter{next: s.Config.Handler}
	s.Config.Handler = cutter
	u := *s.URL
	u.User = nil
	return u.String(), cutter
}

// testConfig is a configuration whose vmware artifact is an OVA made by
// internal/ova from a VMX and a disk of mib MiB (as the conversion does
// without ovftool).
func testConfig(t *testing.T, mib int) *config.Config {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("qemu-img is needed (apt-get install qemu-utils): %v", err)
		}
		t.Skip("qemu-img not installed")
	}
	cfg := &config.Config{Root: t.TempDir(), Site: config.Defaults(), OS: config.OS{VMName: "CentOS-7.9.2009", OSName: "CentOS", OSVersion: "7.9.2009"}}
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk.vmdk")
	if err := run.Run(context.Background(), run.Cmd{Name: "qemu-img", Args: []string{"create", "-f", "vmdk", disk, fmt.Sprintf("%dM", mib)}, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	vmx := filepath.Join(dir, "vm.vmx")
	os.WriteFile(vmx, []byte("guestOS = \"centos7-64\"\nnumvcpus = \"2\"\nmemsize = \"1024\"\nscsi0.virtualDev = \"lsilogic\"\nscsi0:0.fileName = \"disk.vmdk\"\nethernet0.virtualDev = \"vmxnet3\"\n"), 0o644)
	out := filepath.Join(cfg.Root, Source(cfg))
	os.MkdirAll(filepath.Dir(out), 0o755)
	if err := ova.FromVMX(context.Background(), vmx, out, cfg.Tree().BaseName("vmware"), ova.Options{}); err != nil {
		t.Fatal(err)
	}
	uploadtest.Checksum(t, out)
	return cfg
}

func settings(url string) Settings {
	return Settings{URL: url, Username: user, Password: password, ResourcePool: "DC0_C0/Resources", Network: "VM Network"}
}

// template reads the VM at path: whether it is a template, its disk
// capacities and its object id.
func template(t *testing.T, vc, path string) (isTemplate bool, disks []int64, id string) {
	t.Helper()
	ctx := context.Background()
	c, err := Login(ctx, settings(vc))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	vm, err := find.NewFinder(c.Client).VirtualMachine(ctx, path)
	if err != nil {
		t.Fatalf("finding %s: %v", path, err)
	}
	var props mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config"}, &props); err != nil {
		t.Fatal(err)
	}
	for _, d := range object.VirtualDeviceList(props.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil)) {
		disks = append(disks, d.(*types.VirtualDisk).CapacityInBytes)
	}
	return props.Config.Template, disks, vm.Reference().Value
}

func TestPublishImportsATemplateWithTheOVAsDiskAndARerunSkipsIt(t *testing.T) {
	vc := startVCenter(t)
	cfg := testConfig(t, 64)
	var out bytes.Buffer
	res, err := Publish(context.Background(), cfg, settings(vc), Options{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != "/DC0/vm/CentOS-7.9.2009-1.0.0_vmware" || res.Skipped || res.Replaced {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(out.String(), "vsphere: CentOS-7.9.2009-1.0.0_vmware CentOS-7.9.2009-1.0.0_vmware-disk1.vmdk") {
		t.Errorf("no upload progress line in:\n%s", out.String())
	}
	isTemplate, disks, id := template(t, vc, res.Path)
	if !isTemplate || len(disks) != 1 || disks[0] != 64<<20 {
		t.Errorf("%s: template %v, disks %v; want a template with one disk of %d bytes", res.Path, isTemplate, disks, 64<<20)
	}

	again, err := Publish(context.Background(), cfg, settings(vc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Skipped {
		t.Errorf("re-run: %+v, want skipped", again)
	}
	if _, _, same := template(t, vc, res.Path); same != id {
		t.Errorf("re-run: the template is %s, was %s", same, id)
	}

	// FORCE replaces it, here with a bigger disk.
	bigger := testConfig(t, 96)
	s := settings(vc)
	s.Force = true
	forced, err := Publish(context.Background(), bigger, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	isTemplate, disks, newID := template(t, vc, res.Path)
	if !forced.Replaced || forced.Skipped || newID == id || !isTemplate || len(disks) != 1 || disks[0] != 96<<20 {
		t.Errorf("FORCE: %+v, template %v %s (was %s), disks %v; want a new template of 96 MiB", forced, isTemplate, newID, id, disks)
	}
}

func TestACutImportLeavesNoVMAndTheNextRunImports(t *testing.T) {
	vc, cutter := startVCenterCutting(t)
	cfg := testConfig(t, 32)
	cutter.armed.Store(true)
	_, err := Publish(context.Background(), cfg, settings(vc), Options{})
	if err == nil || cutter.cuts.Load() == 0 {
		t.Fatalf("import through a cut connection: %v, %d cuts", err, cutter.cuts.Load())
	}
	if !strings.HasPrefix(err.Error(), "uploading \"CentOS-7.9.2009-1.0.0_vmware.ova\" to vSphere: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: want one line saying the upload failed", err)
	}
	ctx := context.Background()
	c, err := Login(ctx, settings(vc))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	if vms, _ := find.NewFinder(c.Client).VirtualMachineList(ctx, "/DC0/vm/"+TemplateName(cfg)); len(vms) != 0 {
		t.Errorf("the cut import left %d VMs named %s", len(vms), TemplateName(cfg))
	}
	cutter.armed.Store(false)
	res, err := Publish(ctx, cfg, settings(vc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if isTemplate, disks, _ := template(t, vc, res.Path); res.Skipped || !isTemplate || len(disks) != 1 || disks[0] != 32<<20 {
		t.Errorf("re-run after the cut: %+v, template %v, disks %v", res, isTemplate, disks)
	}
}

func TestAVirtualMachineOfThatNameIsNotTakenForTheTemplate(t *testing.T) {
	vc := startVCenter(t)
	cfg := testConfig(t, 16)
	// A VM named as the template: an import cut short, or someone's.
	ctx := context.Background()
	c, err := Login(ctx, settings(vc))
	if err != nil {
		t.Fatal(err)
	}
	vm, err := find.NewFinder(c.Client).VirtualMachine(ctx, "/DC0/vm/DC0_H0_VM0")
	if err != nil {
		t.Fatal(err)
	}
	task, err := vm.Rename(ctx, TemplateName(cfg))
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.Logout(ctx)
	_, err = Publish(ctx, cfg, settings(vc), Options{})
	if err == nil || !strings.Contains(err.Error(), "is a virtual machine, not a template") || !strings.Contains(err.Error(), "FORCE=1") {
		t.Fatalf("error %v: want a refusal naming FORCE=1", err)
	}
	s := settings(vc)
	s.Force = true
	res, err := Publish(ctx, cfg, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if isTemplate, _, _ := template(t, vc, res.Path); !res.Replaced || !isTemplate {
		t.Errorf("FORCE over a powered-on VM: %+v, template %v", res, isTemplate)
	}
}

func TestBadInputIsOneLineWithoutTheSecret(t *testing.T) {
	vc := startVCenter(t)
	cfg := testConfig(t, 16)
	bad := settings(vc)
	bad.Password = "wrong-Pa55word"
	noPool := settings(vc)
	noPool.ResourcePool, noPool.Datastore, noPool.Network = "nowhere", "nods", "nonet"
	cases := []struct {
		name string
		cfg  *config.Config
		s    Settings
		want []string
	}{
		{"wrong password", cfg, bad, []string{"logging in to vSphere http://", `as "builder@vsphere.local"`, "the user name or password was refused"}},
		{"no URL", cfg, Settings{}, []string{"set GOVC_URL (e.g. https://vcenter.example/sdk) with GOVC_USERNAME and GOVC_PASSWORD"}},
		{"no user", cfg, Settings{URL: vc}, []string{"set GOVC_USERNAME and GOVC_PASSWORD"}},
		{"places that are not there, all at once", cfg, noPool, []string{`GOVC_DATASTORE="nods"`, `GOVC_RESOURCE_POOL="nowhere"`, `GOVC_NETWORK="nonet"`}},
		{"no artifact", &config.Config{Root: t.TempDir(), Site: config.Defaults(), OS: config.OS{VMName: "CentOS-7.9.2009"}}, settings(vc),
			[]string{`artifact "artifacts/1.0.0/CentOS-7.9.2009/vmware/CentOS-7.9.2009-1.0.0_vmware.ova" not found; build it first (mage build:os CentOS-7.9.2009 with ONLY=vmware`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Publish(context.Background(), tc.cfg, tc.s, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, "Pa55") || (tc.name != "places that are not there, all at once" && strings.Contains(msg, "\n")) {
				t.Errorf("error %q: want one line without the password", msg)
			}
		})
	}
}

func TestSettingsFromEnvReadsGovcsVariables(t *testing.T) {
	env := map[string]string{"GOVC_URL": "vcenter.lab", "GOVC_USERNAME": "u", "GOVC_PASSWORD": "p", "GOVC_INSECURE": "1", "GOVC_DATACENTER": "dc",
		"GOVC_DATASTORE": "ds", "GOVC_FOLDER": "f", "GOVC_RESOURCE_POOL": "rp", "GOVC_NETWORK": "n", "FORCE": "true"}
	got, err := SettingsFromEnv(config.Site{}, func(k string) string { return env[k] })
	want := Settings{URL: "vcenter.lab", Username: "u", Password: "p", Insecure: true, Datacenter: "dc", Datastore: "ds", Folder: "f", ResourcePool: "rp", Network: "n", Force: true}
	if err != nil || got != want {
		t.Errorf("got %+v, %v\nwant %+v", got, err, want)
	}
	env["GOVC_INSECURE"], env["FORCE"] = "sometimes", "maybe"
	_, err = SettingsFromEnv(config.Site{}, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), `GOVC_INSECURE="sometimes"`) || !strings.Contains(err.Error(), `FORCE="maybe"`) {
		t.Errorf("bad values: %v, want both named", err)
	}
}

func TestTheURLsPasswordIsNeverShown(t *testing.T) {
	if got := redact.URL("https://u:hunter2@vc.lab/sdk"); strings.Contains(got, "hunter2") {
		t.Errorf("redact: %q", got)
	}
	_, err := Login(context.Background(), Settings{URL: "https://u:hunter2@[::1"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v: want one without the password", err)
	}
}

func TestResultStringIsTheLineUploadVmwarePrints(t *testing.T) {
	r := Result{Name: "CentOS-7.9.2009-1.0.0", Path: "/DC0/vm/CentOS-7.9.2009-1.0.0", Replaced: true}
	if want := "template /DC0/vm/CentOS-7.9.2009-1.0.0, skipped: false, replaced: true"; r.String() != want {
		t.Errorf("%q\nwant %q", r.String(), want)
	}
}

// TestAStalledServerIsGivenUpOnNotWaitedForForever: govmomi bounds only
// dialing and the TLS handshake, so a vCenter that takes a request and
// never answers would hang the import; a request that stalls is given up,
// the disk upload through the lease included.
func TestAStalledServerIsGivenUpOnNotWaitedForForever(t *testing.T) {
	defer func(d time.Duration) { stallTimeout = d }(stallTimeout)
	stallTimeout = time.Second // healthy requests on a loaded machine stay well within it
	cfg := testConfig(t, 4)
	for name, vcenter := range map[string]func(t *testing.T) string{
		"the SDK endpoint": func(t *testing.T) string { return uploadtest.StalledServer(t).URL + "/sdk" },
		"a disk upload through the lease": func(t *testing.T) string {
			vc, cutter := startVCenterCutting(t)
			cutter.stalled.Store(uploadtest.StalledServer(t))
			return vc
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := settings(vcenter(t))
			uploadtest.GivesUp(t, func() error {
				_, err := Publish(t.Context(), cfg, s, Options{})
				return err
			})
		})
	}
}
