// Package e2e runs the whole chain for real with a fixture guest (Debian
// 12 made by mmdebstrap, see fixture/): the pipeline of `mage build:os`
// with the QEMU providers, Packer under TCG when KVM runs no guest, the
// kickstart server reached through QEMU's guestfwd, Ansible, the guest
// scripts, conversions, SHA256SUM and the catalog; then every converted disk
// boots, `vagrant box add` takes the catalog and the docker rootfs goes to
// a local registry. It needs root, QEMU and the tools of
// scripts/host/install-test-tools.sh: it fails without them in CI (CI=true)
// and skips otherwise.
//
// Not covered: the VirtualBox and VMware providers (no hypervisor here),
// and the CentOS kickstart itself (the fixture fetches it but installs
// nothing).
package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/buildsteps"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/dockerpush"
	"gold-standard-images/internal/kickstart"
	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/packer/packertest"
	"gold-standard-images/internal/pipeline"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/tree"
	"gold-standard-images/test/fixture"
	"gold-standard-images/test/guest"
)

// qemuProviders are the providers built: those Packer builds with QEMU.
var qemuProviders = []string{"azure", "docker", "gcp", "openstack"}

// tools are the programs the test runs besides Packer.
var tools = []string{"qemu-system-x86_64", "qemu-img", "guestfish", "mmdebstrap", "ansible-playbook", "sha256sum", "vagrant", "docker-registry", "skopeo", "socat", "mkfs.vfat", "mcopy"}

func TestTheFixtureGuestGoesThroughTheWholeChainForReal(t *testing.T) {
	requireTools(t)
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := packertest.Real(t, repo)
	ctx, cancel := testContext(t)
	defer cancel()
	accel, err := kvm.Choose(ctx, os.Getenv, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("accelerator: %s (%s)", accel.Accelerator, accel.Line)
	phase := phaseTimer(t)

	image, imageSum := fixture.Image(ctx, t, accel)
	phase("fixture image")

	root := fixtureRoot(t, image, imageSum)
	cfg, err := config.Load(root, vmName, func(string) string { return "" }, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// DEBUG_BOXES=1: the Vagrant boxes of these builds are all debug boxes
	// (their images have no vagrant user); the build makes openstack's
	// (debugBoxProvider), which vagrantBoxAdd takes. FORCE=1 over the
	// leftovers of an earlier azure build: Packer must get a clean output
	// folder and the conversion must replace the stale artifact.
	env := map[string]string{"ONLY": strings.Join(qemuProviders, ","), "PACKER": bin, "PACKER_TIMEOUT": "45m", "QEMU_ACCELERATOR": accel.Accelerator, "DEBUG_BOXES": "1", "FORCE": "1"}
	keyDir, keyEnv, keys := siteKeys(t)
	maps.Copy(env, keyEnv)
	stale := plantLeftovers(t, root, cfg, "azure")
	wantStatus(t, build(ctx, t, cfg, env), pipeline.OK)
	phase("build (preflight, kickstart server, 4 Packer builds, conversions, a debug box, provenance, SHA256SUM and its signature, catalog, inspection)")
	delete(env, "DEBUG_BOXES")
	delete(env, "FORCE")
	checkLeftoversGone(t, stale)
	logAnsibleRoles(t, root, cfg)

	checkSums(ctx, t, root, cfg)
	phase("sha256sum -c")
	checkSigned(ctx, t, repo, root, keyDir, cfg, keys)
	phase("release verify, gpg --verify, cosign verify-blob-attestation")
	timeSigning(ctx, t, root, cfg, keys)
	phase("signing the release again from scratch")

	checkKickstart(t, root, cfg, "docker", rootfsFile(t, filepath.Join(root, cfg.Tree().Artifact("docker", "tar.gz")), kickstartCopy))
	bootEveryDisk(ctx, t, root, cfg, accel.Accelerator)
	phase("boot checks")

	vagrantBoxAdd(ctx, t, root)
	phase("vagrant box add")

	pushDocker(ctx, t, root, cfg)
	phase("docker push and skopeo inspect")
	pushSigned(ctx, t, repo, root, keyDir, cfg, keys)
	phase("signed docker push, cosign verify and verify-attestation")

	signed := snapshotSignatures(t, root, cfg)
	wantStatus(t, build(ctx, t, cfg, env), pipeline.UpToDate)
	phase("second build, nothing changed")
	if now := snapshotSignatures(t, root, cfg); now != signed {
		t.Errorf("the second build changed the signatures or provenance:\n%s\nthen\n%s", signed, now)
	}
}

// debugBoxProvider is the one build whose debug box the test makes: each
// box costs a libguestfs appliance, and one is what vagrantBoxAdd needs.
const debugBoxProvider = "openstack"

// leftovers are files an earlier build of a provider left behind.
type leftovers struct {
	packerFile, artifact string
	junk                 []byte
}

// plantLeftovers leaves what an earlier, different build of provider would
// have left: a file in its Packer output folder (Packer refuses to build
// into an existing one) and a stale artifact.
func plantLeftovers(t *testing.T, root string, cfg *config.Config, provider string) leftovers {
	t.Helper()
	l := leftovers{
		packerFile: filepath.Join(root, cfg.Tree().PackerOutput(provider), "left-by-an-earlier-build"),
		artifact:   filepath.Join(root, cfg.Tree().Artifact(provider, "vhd")),
		junk:       []byte("a stale artifact of an earlier build\n"),
	}
	for _, f := range []string{l.packerFile, l.artifact} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, l.junk, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// checkLeftoversGone fails unless the build replaced l: the Packer output
// folder was made anew and the artifact is no longer the stale one
// (checkSums then proves it is the one SHA256SUM lists).
func checkLeftoversGone(t *testing.T, l leftovers) {
	t.Helper()
	if _, err := os.Stat(l.packerFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s survived a FORCE=1 build (stat: %v)", l.packerFile, err)
	}
	if got, err := os.ReadFile(l.artifact); err != nil || bytes.Equal(got, l.junk) {
		t.Errorf("%s: the stale artifact was not replaced (read: %v)", l.artifact, err)
	}
}

// requireTools fails (in CI) or skips the test unless it runs as root with
// every tool: those given, else the whole chain's (tools).
func requireTools(t *testing.T, need ...string) {
	t.Helper()
	if len(need) == 0 {
		need = tools
	}
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range need {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "the e2e test needs " + strings.Join(missing, ", ") + " (scripts/host/install-test-tools.sh installs the tools)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// testContext ends a minute before the test binary's deadline, so that
// every tool is stopped and cleaned up before Go panics.
func testContext(t *testing.T) (context.Context, context.CancelFunc) {
	if d, ok := t.Deadline(); ok {
		return context.WithDeadline(context.Background(), d.Add(-time.Minute))
	}
	return context.WithTimeout(context.Background(), time.Hour)
}

// phaseTimer returns a function that logs the time since its last call.
func phaseTimer(t *testing.T) func(name string) {
	start, last := time.Now(), time.Now()
	return func(name string) {
		t.Logf("phase %-70s %6s (total %s)", name+":", time.Since(last).Round(time.Second), time.Since(start).Round(time.Second))
		last = time.Now()
	}
}

// build runs the pipeline the way `mage build:os` does, with env over the
// process environment and the fixture's Packer variables.
func build(ctx context.Context, t *testing.T, cfg *config.Config, env map[string]string) []pipeline.Result {
	t.Helper()
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if k == "FORCE" {
			return ""
		}
		return os.Getenv(k)
	}
	out := guest.NewLineLogger(t)
	opts := pipeline.Options{
		Out: out, Getenv: getenv, PackerVars: fixtureVars(filepath.Join(cfg.Root, "logs")),
		// GRUB in a guest starved of CPU (parallel builds under TCG) loses
		// keys typed at Packer's default 100ms.
		Env: []string{"PACKER_KEY_INTERVAL=300ms"},
	}
	deps, err := buildsteps.Deps(cfg, getenv, out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if all := deps.DebugBoxes; all != nil {
		deps.DebugBoxes = func(ctx context.Context, built []providers.Provider) ([]tree.Artifact, error) {
			return all(ctx, slices.DeleteFunc(slices.Clone(built), func(p providers.Provider) bool { return p.Name != debugBoxProvider }))
		}
	}
	results, err := pipeline.Build(ctx, cfg, deps, opts)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return results
}

func wantStatus(t *testing.T, results []pipeline.Result, want pipeline.Status) {
	t.Helper()
	for _, r := range results {
		if r.Status != want {
			t.Errorf("%s: status %q, want %q (log %s)", r.Provider, r.Status, want, r.Log)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// Ansible's task lines and result lines in a Packer log.
var (
	taskLine   = regexp.MustCompile(`TASK \[(?:([a-z_]+) : )?[^\]]*\]`)
	resultLine = regexp.MustCompile(`\b(ok|changed|skipping|fatal): \[`)
)

// logAnsibleRoles says, from the Packer logs, which roles ran tasks on the
// fixture for real and which were skipped (RHEL family only).
func logAnsibleRoles(t *testing.T, root string, cfg *config.Config) {
	t.Helper()
	for _, p := range qemuProviders {
		data, err := os.ReadFile(filepath.Join(root, cfg.Tree().Log(p)))
		if err != nil {
			t.Fatal(err)
		}
		ran, skipped := map[string]bool{}, map[string]bool{}
		role := ""
		for _, line := range strings.Split(string(data), "\n") {
			if m := taskLine.FindStringSubmatch(line); m != nil {
				role = m[1]
				continue
			}
			if m := resultLine.FindStringSubmatch(line); m != nil && role != "" {
				if m[1] == "skipping" {
					skipped[role] = true
				} else {
					ran[role] = true
				}
			}
		}
		var onlySkipped []string
		for r := range skipped {
			if !ran[r] {
				onlySkipped = append(onlySkipped, r)
			}
		}
		slices.Sort(onlySkipped)
		t.Logf("ansible on the fixture, %s: roles run for real: %s; roles skipped: %s", p, strings.Join(sortedKeys(ran), ", "), strings.Join(onlySkipped, ", "))
	}
}

func sortedKeys(m map[string]bool) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkSums runs `sha256sum -c SHA256SUM` in every provider folder built.
func checkSums(ctx context.Context, t *testing.T, root string, cfg *config.Config) {
	t.Helper()
	for _, p := range qemuProviders {
		dir := filepath.Join(root, cfg.Tree().ArtifactDir(p))
		var out bytes.Buffer
		err := run.Run(ctx, run.Cmd{Name: "sha256sum", Args: []string{"-c", "SHA256SUM"}, Dir: dir, Output: &out, Timeout: 10 * time.Minute})
		if err != nil {
			t.Errorf("sha256sum -c in %s: %v\n%s", dir, err, out.String())
		}
	}
}

// kickstartCopy is where the fixture keeps the kickstart it fetched at boot.
const kickstartCopy = "var/lib/gsi-fixture/ks.cfg"

// checkKickstart compares the kickstart the guest of provider fetched at
// boot with what `mage ks:render virtual/<provider> <vm_name>` prints.
func checkKickstart(t *testing.T, root string, cfg *config.Config, provider string, got []byte) {
	t.Helper()
	k, _, err := kickstart.LoadAll(root, func(string) string { return "" }, kickstart.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := k.Render(&want, "virtual/"+provider, cfg.OS.VMName, "http://127.0.0.1:8080"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("%s: the kickstart the guest fetched at boot (%d bytes) differs from ks:render's (%d bytes):\n%s", provider, len(got), want.Len(), got)
		return
	}
	t.Logf("%s: the kickstart the guest fetched through the guestfwd is ks:render's, byte for byte (%d bytes)", provider, len(got))
}

// rootfsFile reads the file name (relative, no leading /) from the gzip
// tar rootfs at path.
func rootfsFile(t *testing.T, path, name string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s has no %s", path, name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "./") == name {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
}

// boots are the boot checks: each converted disk attached the way its
// platform attaches it, as far as QEMU can: GCP's disk.raw on virtio-scsi,
// Azure's fixed VHD read as vpc (on virtio: QEMU has no Hyper-V storage).
// OpenStack's qcow2 boots as a larger flavor's disk with a NoCloud seed
// (bootGrown).
var boots = []struct {
	provider string
	disk     func(t *testing.T, path string) []string // QEMU arguments attaching the artifact at path
	ext      string
}{
	{"gcp", gcpDisk, "tar.gz"},
	{"azure", func(t *testing.T, path string) []string {
		return []string{"-drive", "file=" + guest.Checked(t, path, "vpc") + ",format=vpc,if=virtio,readonly=off"}
	}, "vhd"},
}

// gcpDisk unpacks disk.raw from the GCP tarball (sparse) and attaches it to
// a virtio-scsi controller, as GCE does.
func gcpDisk(t *testing.T, path string) []string {
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-C", dir, "-xzSf", path).CombinedOutput(); err != nil {
		t.Fatalf("unpacking %s: %v\n%s", path, err, out)
	}
	return []string{"-device", "virtio-scsi-pci,id=scsi0", "-drive", "file=" + guest.Checked(t, filepath.Join(dir, "disk.raw"), "raw") + ",format=raw,if=none,id=d0", "-device", "scsi-hd,drive=d0,bus=scsi0.0"}
}

// bootEveryDisk boots the boot checks' disks in parallel and waits for SSH.
// The openstack image boots on a larger disk with a NoCloud seed: its root
// must grow to fill the disk, the image must have no vagrant user (its box
// is made from a copy), and the default user cloud-init makes with the
// seed's key reads the image record and, with sudo, the kickstart the guest
// fetched during the build.
func bootEveryDisk(ctx context.Context, t *testing.T, root string, cfg *config.Config, accel string) {
	t.Helper()
	t.Run("boot", func(t *testing.T) {
		for _, b := range boots {
			t.Run(b.provider, func(t *testing.T) {
				t.Parallel()
				disk := b.disk(t, filepath.Join(root, cfg.Tree().Artifact(b.provider, b.ext)))
				g := guest.Boot(t, b.provider, accel, disk, 15*time.Minute)
				g.WaitSSH(t, 10*time.Minute)
				t.Logf("%s: sshd answers", b.provider)
			})
		}
		t.Run("openstack", func(t *testing.T) {
			t.Parallel()
			g, key := guest.CheckRootGrows(ctx, t, "openstack", accel, filepath.Join(root, cfg.Tree().Artifact("openstack", "qcow2")))
			who := g.Run(t, guest.CloudUser, key, "cat /etc/gold-standard-image; getent passwd vagrant || echo no-vagrant-user")
			if !strings.Contains(who, "build=openstack") || !strings.Contains(who, "no-vagrant-user") {
				t.Errorf("openstack: the image record, and no vagrant user: %q", who)
			}
			t.Logf("openstack: %s logs in with the seed's key: %s", guest.CloudUser, strings.ReplaceAll(strings.TrimSpace(who), "\n", " "))
			ks := g.Run(t, guest.CloudUser, key, "sudo -n cat /"+kickstartCopy)
			checkKickstart(t, root, cfg, "openstack", []byte(ks))
		})
	})
	if t.Failed() {
		t.FailNow()
	}
}

// vagrantBoxAdd adds the box of the debugBoxProvider build (a debug box: its
// disk with a vagrant user added, in a catalog of its own) to a Vagrant
// home of its own.
func vagrantBoxAdd(ctx context.Context, t *testing.T, root string) {
	t.Helper()
	catalog := tree.CatalogFile(filepath.Join(root, tree.ArtifactsDir), vmName+"-"+debugBoxProvider)
	var out bytes.Buffer
	err := run.Run(ctx, run.Cmd{
		Name: "vagrant", Args: []string{"box", "add", catalog},
		Env:    []string{"VAGRANT_HOME=" + t.TempDir(), "VAGRANT_CHECKPOINT_DISABLE=1"},
		Output: &out, Timeout: 10 * time.Minute,
	})
	if err != nil {
		t.Fatalf("vagrant box add %s: %v\n%s", catalog, err, out.String())
	}
	t.Logf("vagrant box add %s: ok", catalog)
}

// pushDocker pushes the docker artifact to a local docker-registry as
// upload:docker does, and checks with skopeo that the image's one layer is
// the artifact itself: its digest is the file's sha256.
func pushDocker(ctx context.Context, t *testing.T, root string, cfg *config.Config) {
	t.Helper()
	registry := startRegistry(t)
	res, err := dockerpush.Publish(ctx, cfg, dockerpush.Settings{Registry: registry, Namespace: cfg.Site.Namespace}, dockerpush.Options{})
	if err != nil {
		t.Fatal(err)
	}
	repo := res.Where
	out, err := run.Output(ctx, run.Cmd{
		Name: "skopeo", Args: []string{"inspect", "--tls-verify=false", "docker://" + repo + ":" + cfg.Site.Version},
		Timeout: 2 * time.Minute,
	})
	if err != nil {
		t.Fatalf("skopeo inspect %s: %v", repo, err)
	}
	var got struct{ Layers []string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("skopeo inspect printed %q: %v", out, err)
	}
	want := "sha256:" + fixture.FileSHA256(t, filepath.Join(root, dockerpush.Source(cfg)))
	if len(got.Layers) != 1 || got.Layers[0] != want {
		t.Fatalf("skopeo inspect %s: layers %v, want [%s]", repo, got.Layers, want)
	}
	t.Logf("pushed %s:%s; its layer is the rootfs file (%s)", repo, cfg.Site.Version, want)
}
