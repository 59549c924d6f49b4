//go:build linux

package boxcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gold-standard-images/internal/run"
)

// The real test's guest, its libvirt network (bridge, dnsmasq) and every
// SSH connection live in a network namespace the test makes: the test
// re-runs its own binary under unshare --net --mount, and that child runs
// the check. The child's /run/libvirt and /var/lib/libvirt/dnsmasq are
// empty tmpfs mounts, so the system libvirtd's and virtlogd's sockets (unix
// sockets reach across network namespaces by path) do not answer there and
// the check starts its own libvirtd and virtlogd inside the namespace.

// childEnv marks the child; its value is the path of the childBrief.
const childEnv = "GSI_TEST_BOXCHECK_NETNS_CHILD"

// childBrief is what the child checks and where it reports.
type childBrief struct {
	Catalog, KeyFile, Accelerator string
	DebugCatalogs                 []string // the debug boxes' catalogs
	Log                           string   // vagrant's and virsh's output
	Links                         string   // the child writes the interfaces its namespace had
	HostNet, HostMnt              string   // the parent's namespaces, which the child must not be in
}

// privateLibvirtDirs are mounted empty in the child.
var privateLibvirtDirs = []string{"/run/libvirt", "/var/lib/libvirt/dnsmasq"}

// namespaces are this process's network and mount namespaces.
func namespaces() (netNS, mntNS string, err error) {
	if netNS, err = os.Readlink("/proc/self/ns/net"); err == nil {
		mntNS, err = os.Readlink("/proc/self/ns/mnt")
	}
	return netNS, mntNS, err
}

// requireNamespaces fails (in CI) or skips the test when this host cannot
// make a network and mount namespace.
func requireNamespaces(ctx context.Context, t *testing.T) {
	t.Helper()
	err := run.Run(ctx, run.Cmd{Name: "unshare", Args: []string{"--net", "--mount", "--", "true"}, Timeout: 30 * time.Second})
	if err == nil {
		return
	}
	msg := fmt.Sprintf("booting the fixture box needs a network namespace of its own, and unshare --net --mount failed: %v", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// checkInNamespace runs the check under unshare --net --mount: the child
// is this test binary running this test again with childEnv set. While it
// runs, the host's interfaces are watched: no virbr* or vnet* may appear.
func checkInNamespace(ctx context.Context, t *testing.T, brief childBrief, dir string) {
	t.Helper()
	var err error
	if brief.HostNet, brief.HostMnt, err = namespaces(); err != nil {
		t.Fatal(err)
	}
	brief.Links = filepath.Join(dir, "netns-links")
	data, err := json.Marshal(brief)
	if err != nil {
		t.Fatal(err)
	}
	briefPath := filepath.Join(dir, "netns-brief.json")
	if err := os.WriteFile(briefPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		t.Fatal("the test's context has no deadline")
	}
	bound := time.Until(deadline)
	childTimeout := bound - time.Minute // the child's own deadline comes first
	if childTimeout < 5*time.Minute {
		t.Fatalf("%s left for the check in the namespace: run go test with a longer -timeout", bound.Round(time.Second))
	}

	before := hostLinks(t)
	watch := watchHostLinks(before)
	var childOut strings.Builder
	err = run.Run(ctx, run.Cmd{
		Name: "unshare",
		Args: []string{"--net", "--mount", "--", exe, "-test.run", "^" + t.Name() + "$", "-test.v", "-test.timeout", childTimeout.String()},
		Env:  []string{childEnv + "=" + briefPath}, Output: &childOut,
		Timeout: bound, Reap: true, Log: brief.Log,
		Hint: "the check in the test's network namespace did not end (see vagrant's output)",
	})
	appeared := watch()
	t.Logf("the child, in the test's network namespace:\n%s", childOut.String())
	if err != nil {
		t.Errorf("the check in the network namespace: %v (vagrant's output: %s)", err, brief.Log)
	}
	if len(appeared) > 0 {
		t.Errorf("interfaces appeared in the host's network namespace during the check: %s", strings.Join(appeared, ", "))
	} else {
		t.Logf("host network namespace: no virbr*/vnet* appeared while the check ran (%d interfaces before)", len(before))
	}
	links, err := os.ReadFile(brief.Links)
	if err != nil {
		t.Fatalf("the child did not say which interfaces its namespace had: %v", err)
	}
	t.Logf("test's network namespace had: %s", links)
}

// libvirtLink reports whether name is a libvirt bridge or guest tap.
func libvirtLink(name string) bool {
	return strings.HasPrefix(name, "virbr") || strings.HasPrefix(name, "vnet")
}

// hostLinks are the names of this namespace's interfaces (ip -o link).
func hostLinks(t *testing.T) map[string]bool {
	t.Helper()
	names, err := linkNames()
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	return set
}

func linkNames() ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing the network interfaces: %w", err)
	}
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return names, nil
}

// watchHostLinks polls this namespace's interfaces every half second, and
// once more at stop, which returns the virbr*/vnet* ones not in before.
func watchHostLinks(before map[string]bool) (stop func() []string) {
	return watchLinks(func(name string) bool { return !before[name] && libvirtLink(name) })
}

// watchLinks polls this namespace's interfaces every half second until
// stop, which returns the names seen that keep says to keep, sorted.
func watchLinks(keep func(string) bool) (stop func() []string) {
	done := make(chan struct{})
	var mu sync.Mutex
	seen := map[string]bool{}
	look := func() {
		names, _ := linkNames()
		mu.Lock()
		defer mu.Unlock()
		for _, n := range names {
			if keep(n) {
				seen[n] = true
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			look()
			select {
			case <-done:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return func() []string {
		close(done)
		wg.Wait()
		look()
		var names []string
		for n := range seen {
			names = append(names, n)
		}
		sort.Strings(names)
		return names
	}
}

// enterChild readies the child's namespaces: it must not share the
// parent's, lo comes up, and libvirt's runtime folders are empty tmpfs
// mounts (seen by this mount namespace alone), so that no system libvirtd
// or virtlogd answers. It returns the child's brief.
func enterChild(ctx context.Context, t *testing.T, briefPath string) childBrief {
	t.Helper()
	var brief childBrief
	data, err := os.ReadFile(briefPath)
	if err == nil {
		err = json.Unmarshal(data, &brief)
	}
	if err != nil {
		t.Fatalf("reading the child's brief: %v", err)
	}
	netNS, mntNS, err := namespaces()
	if err != nil {
		t.Fatal(err)
	}
	if netNS == brief.HostNet || mntNS == brief.HostMnt {
		t.Fatalf("the child shares the test's namespaces (net %s, mnt %s): refusing to touch the host's libvirt folders", netNS, mntNS)
	}
	for _, dir := range privateLibvirtDirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=0755"); err != nil {
			t.Fatalf("mounting an empty tmpfs on %s in the test's mount namespace: %v", dir, err)
		}
	}
	if err := run.Run(ctx, run.Cmd{Name: "ip", Args: []string{"link", "set", "lo", "up"}, Timeout: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if answers(append(systemSockets, virtlogdSocket)...) {
		t.Fatal("a system libvirtd or virtlogd answers in the test's namespace: the check would not start its own")
	}
	t.Logf("in the test's namespaces (net %s, mnt %s): lo up, %s empty", netNS, mntNS, strings.Join(privateLibvirtDirs, " and "))
	return brief
}

// requireGuestLinks fails unless the namespace had a libvirt bridge and a
// guest tap: the guest's network was there, not on the host.
func requireGuestLinks(t *testing.T, links []string) {
	t.Helper()
	if !slices.ContainsFunc(links, func(n string) bool { return strings.HasPrefix(n, "virbr") }) ||
		!slices.ContainsFunc(links, func(n string) bool { return strings.HasPrefix(n, "vnet") }) {
		t.Errorf("the test's network namespace had no virbr* bridge and vnet* tap: %v", links)
	}
}
