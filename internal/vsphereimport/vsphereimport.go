// Package vsphereimport publishes the vmware artifact (an OVA) to vSphere as
// the template <vm_name>-<version>_vmware (config.ImageName), as `govc import.ova` followed by `govc
// vm.markastemplate` would: the OVF descriptor becomes an import spec
// (OvfManager.CreateImportSpec), the resource pool starts the import
// (ImportVApp, an NFC lease), the disks are streamed from the OVA through
// the lease with progress, and the new VM is marked as a template. It reads
// govc's own variables (GOVC_URL and friends), so a govc user's environment
// works as it is. It has the shape of every upload package (README,
// Layout): Settings, SettingsFromEnv, Options, Source, Publish and Result.
package vsphereimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/httpbound"
	"gold-standard-images/internal/progress"
	"gold-standard-images/internal/redact"
	"gold-standard-images/internal/shorterr"
)

// Provider is the provider whose artifact this upload takes.
const Provider = "vmware"

// Settings are where the template goes and who logs in; govc's variables
// (SettingsFromEnv). Password is a secret: no error or log line holds it.
type Settings struct {
	URL                string // vCenter or ESXi: host, host:port or https://host/sdk
	Username, Password string // over the URL's own user info when set
	Insecure           bool   // skip TLS certificate checks
	Datacenter         string // empty: the only one
	Datastore          string // empty: the datacenter's only one
	Folder             string // VM folder; empty: the datacenter's vm folder
	ResourcePool       string // empty: the only cluster's or host's pool
	Network            string // what the OVA's "VM Network" maps to; empty: vSphere's choice
	Force              bool   // replace an existing VM or template of the same name
}

// Options tune Publish; the zero value is fine.
type Options struct {
	Out io.Writer // progress lines; nil is silent
}

// SettingsFromEnv reads govc's GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD,
// GOVC_INSECURE, GOVC_DATACENTER, GOVC_DATASTORE, GOVC_FOLDER,
// GOVC_RESOURCE_POOL and GOVC_NETWORK, and FORCE.
func SettingsFromEnv(_ config.Site, getenv func(string) string) (Settings, error) {
	s := Settings{
		URL:          envvar.GovcURL.Get(getenv),
		Username:     envvar.GovcUsername.Get(getenv),
		Password:     envvar.GovcPassword.Get(getenv),
		Datacenter:   envvar.GovcDatacenter.Get(getenv),
		Datastore:    envvar.GovcDatastore.Get(getenv),
		Folder:       envvar.GovcFolder.Get(getenv),
		ResourcePool: envvar.GovcResourcePool.Get(getenv),
		Network:      envvar.GovcNetwork.Get(getenv),
	}
	var errs [2]error
	s.Insecure, errs[0] = envvar.GovcInsecure.Or(getenv, false)
	s.Force, errs[1] = envvar.Force.Or(getenv, false)
	return s, errors.Join(errs[:]...)
}

// Source is the file Publish reads, relative to cfg.Root:
// artifacts/<version>/<vm_name>/vmware/<vm_name>-<version>_vmware.ova.
func Source(cfg *config.Config) string {
	return cfg.Tree().Artifact(Provider, "ova")
}

// TemplateName is the template's name: <vm_name>-<version>_vmware, or
// <vm_name>-<version> with the site's image_names "short".
func TemplateName(cfg *config.Config) string {
	return cfg.ImageName(Provider)
}

// Result is what Publish did.
type Result struct {
	Name     string
	Path     string // inventory path of the template
	Skipped  bool   // a template of that name was there already
	Replaced bool   // one was there and FORCE replaced it
}

// String is the line upload:vmware prints:
// "template <path>, skipped: <bool>, replaced: <bool>".
func (r Result) String() string {
	return fmt.Sprintf("template %s, skipped: %v, replaced: %v", r.Path, r.Skipped, r.Replaced)
}

// Publish imports cfg's OVA (Source) as the template TemplateName, unless
// a template of that name is in the folder already (FORCE replaces it).
func Publish(ctx context.Context, cfg *config.Config, s Settings, o Options) (_ Result, err error) {
	defer func() { err = redact.Error(err) }() // an endpoint's credentials are never printed
	rel := Source(cfg)
	file := filepath.Join(cfg.Root, rel)
	if _, err := checksum.Listed(ctx, file); errors.Is(err, os.ErrNotExist) {
		return Result{}, fmt.Errorf("publishing to vSphere: artifact %q not found; build it first (mage build:os %s with ONLY=vmware, or mage artifacts:convert %[2]s after a build)", rel, cfg.OS.VMName)
	} else if err != nil {
		return Result{}, fmt.Errorf("publishing to vSphere: %w", err)
	}
	if s.URL == "" {
		return Result{}, errors.New("publishing to vSphere: no vSphere to go to: set GOVC_URL (e.g. https://vcenter.example/sdk) with GOVC_USERNAME and GOVC_PASSWORD, as for govc")
	}
	c, err := Login(ctx, s)
	if err != nil {
		return Result{}, err
	}
	defer c.Logout(context.WithoutCancel(ctx))
	place, err := locate(ctx, c, s)
	if err != nil {
		return Result{}, err
	}
	res := Result{Name: TemplateName(cfg), Path: path.Join(place.folder.InventoryPath, TemplateName(cfg))}
	old, err := existing(ctx, c, place.folder, res.Name)
	if err != nil {
		return res, err
	}
	if old != nil {
		template, err := old.IsTemplate(ctx)
		if err != nil {
			return res, fmt.Errorf("checking %s: %w", res.Path, err)
		}
		switch {
		case !s.Force && template:
			res.Skipped = true
			return res, nil
		case !s.Force:
			return res, fmt.Errorf("publishing to vSphere: %s is a virtual machine, not a template (an import cut short, or someone's VM); delete it, or set FORCE=1 to replace it", res.Path)
		}
		if err := destroy(ctx, old, template); err != nil {
			return res, fmt.Errorf("replacing %s: %w", res.Path, err)
		}
		res.Replaced = true
	}
	if err := importOVA(ctx, c, place, file, res.Name, s, o); err != nil {
		return res, err
	}
	return res, nil
}

// stallTimeout is how long a request to vSphere may go without a byte
// moving (sent, answered or read) before it is given up: govmomi bounds
// only dialing and the TLS handshake, so a connection that stalls would
// hang upload:vmware for good; a total limit per request would cut the disk
// upload through the lease on a slow link.
var stallTimeout = 2 * time.Minute

// Login connects to s.URL as govc does (a bare host is https://host/sdk)
// and logs in, failing in one line without the password.
func Login(ctx context.Context, s Settings) (*govmomi.Client, error) {
	u, err := soap.ParseURL(s.URL)
	if err != nil || u == nil {
		return nil, fmt.Errorf("reading GOVC_URL: %q is not a URL such as https://vcenter.example/sdk", redact.URL(s.URL))
	}
	user := u.User
	u.User = nil
	if s.Username != "" {
		pass, _ := user.Password()
		if s.Password != "" {
			pass = s.Password
		}
		user = url.UserPassword(s.Username, pass)
	} else if user != nil && s.Password != "" {
		user = url.UserPassword(user.Username(), s.Password)
	}
	if user == nil || user.Username() == "" {
		return nil, fmt.Errorf("logging in to vSphere %s: no user: set GOVC_USERNAME and GOVC_PASSWORD", u)
	}
	sc := soap.NewClient(u, s.Insecure)
	sc.Transport = httpbound.Transport(sc.Transport, stallTimeout)
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("connecting to vSphere %s: %w%s", u, oneLine(err), tlsHint(err))
	}
	c := &govmomi.Client{Client: vc, SessionManager: session.NewManager(vc)}
	if err := c.Login(ctx, user); err != nil {
		if soap.IsSoapFault(err) {
			if _, ok := soap.ToSoapFault(err).VimFault().(types.InvalidLogin); ok {
				return nil, fmt.Errorf("logging in to vSphere %s as %q: the user name or password was refused (GOVC_USERNAME, GOVC_PASSWORD)", u, user.Username())
			}
		}
		return nil, fmt.Errorf("logging in to vSphere %s as %q: %w", u, user.Username(), oneLine(err))
	}
	return c, nil
}

// tlsHint suggests GOVC_INSECURE for an unknown certificate.
func tlsHint(err error) string {
	if strings.Contains(err.Error(), "certificate") {
		return " (a self-signed certificate? trust its CA, or set GOVC_INSECURE=1 on a test system)"
	}
	return ""
}

// placement is where the template goes.
type placement struct {
	finder *find.Finder
	dc     *object.Datacenter
	ds     *object.Datastore
	pool   *object.ResourcePool
	folder *object.Folder
}

// locate finds the datacenter, datastore, resource pool and folder, each
// as govc does (the only one when unset), reporting every one it cannot
// find at once.
func locate(ctx context.Context, c *govmomi.Client, s Settings) (placement, error) {
	p := placement{finder: find.NewFinder(c.Client, false)}
	var err error
	if p.dc, err = p.finder.DatacenterOrDefault(ctx, s.Datacenter); err != nil {
		return p, fmt.Errorf("finding the datacenter (GOVC_DATACENTER=%q): %w", s.Datacenter, oneLine(err))
	}
	p.finder.SetDatacenter(p.dc)
	var errs []error
	if p.ds, err = p.finder.DatastoreOrDefault(ctx, s.Datastore); err != nil {
		errs = append(errs, fmt.Errorf("finding the datastore (GOVC_DATASTORE=%q): %w", s.Datastore, oneLine(err)))
	}
	if p.pool, err = p.finder.ResourcePoolOrDefault(ctx, s.ResourcePool); err != nil {
		errs = append(errs, fmt.Errorf("finding the resource pool (GOVC_RESOURCE_POOL=%q): %w", s.ResourcePool, oneLine(err)))
	}
	if p.folder, err = p.finder.FolderOrDefault(ctx, s.Folder); err != nil {
		errs = append(errs, fmt.Errorf("finding the folder (GOVC_FOLDER=%q): %w", s.Folder, oneLine(err)))
	}
	if s.Network != "" {
		if _, err := p.finder.Network(ctx, s.Network); err != nil {
			errs = append(errs, fmt.Errorf("finding the network (GOVC_NETWORK=%q): %w", s.Network, oneLine(err)))
		}
	}
	return p, errors.Join(errs...)
}

// existing is the VM or template named name directly in folder, or nil.
func existing(ctx context.Context, c *govmomi.Client, folder *object.Folder, name string) (*object.VirtualMachine, error) {
	ref, err := object.NewSearchIndex(c.Client).FindChild(ctx, folder, name)
	if err != nil {
		return nil, fmt.Errorf("looking for %q in %s: %w", name, folder.InventoryPath, oneLine(err))
	}
	if ref == nil {
		return nil, nil
	}
	vm, ok := ref.(*object.VirtualMachine)
	if !ok {
		return nil, fmt.Errorf("publishing to vSphere: %s/%s exists and is not a virtual machine (%s)", folder.InventoryPath, name, ref.Reference().Type)
	}
	return vm, nil
}

// destroy removes a VM (powered off first) or template.
func destroy(ctx context.Context, vm *object.VirtualMachine, template bool) error {
	if !template {
		state, err := vm.PowerState(ctx)
		if err != nil {
			return err
		}
		if state == types.VirtualMachinePowerStatePoweredOn {
			if task, err := vm.PowerOff(ctx); err == nil {
				err = task.Wait(ctx)
			}
		}
	}
	task, err := vm.Destroy(ctx)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

// importOVA is `govc import.ova` with our progress, then MarkAsTemplate.
// A failed upload aborts the lease and removes the half-made VM.
func importOVA(ctx context.Context, c *govmomi.Client, p placement, file, name string, s Settings, o Options) error {
	imp := importer.Importer{
		Log:          func(msg string) (int, error) { return writeNote(o.Out, msg) },
		Client:       c.Client,
		Finder:       p.finder,
		Datacenter:   p.dc,
		Datastore:    p.ds,
		ResourcePool: p.pool,
		Folder:       p.folder,
		Archive:      &importer.TapeArchive{Path: file},
	}
	opts := importer.Options{Name: &name, DiskProvisioning: "thin"}
	if s.Network != "" {
		opts.NetworkMapping = []importer.Network{{Name: "VM Network", Network: s.Network}}
	}
	info, lease, err := imp.ImportVApp(ctx, "*.ovf", opts)
	if err != nil {
		return fmt.Errorf("importing %q into vSphere: %w", filepath.Base(file), oneLine(err))
	}
	updater := lease.StartUpdater(ctx, info)
	for _, item := range info.Items {
		if err = upload(ctx, lease, imp.Archive, item, name, o); err != nil {
			break
		}
	}
	updater.Done()
	if err != nil {
		// vSphere removes the VM of an aborted lease; remove it here too
		// where it is still there (vcsim, an older ESXi), so a cut import
		// never leaves a VM behind.
		cleanup := context.WithoutCancel(ctx)
		lease.Abort(cleanup, &types.LocalizedMethodFault{LocalizedMessage: oneLine(err).Error()})
		if info.Entity.Value != "" {
			destroy(cleanup, object.NewVirtualMachine(c.Client, info.Entity), false)
		}
		return fmt.Errorf("uploading %q to vSphere: %w", filepath.Base(file), oneLine(err))
	}
	if err := lease.Complete(ctx); err != nil {
		return fmt.Errorf("completing the import of %q: %w", filepath.Base(file), oneLine(err))
	}
	vm := object.NewVirtualMachine(c.Client, info.Entity)
	if err := vm.MarkAsTemplate(ctx); err != nil {
		return fmt.Errorf("marking %s as a template: %w", name, oneLine(err))
	}
	return nil
}

// upload streams one file of the OVA through the lease, counting it on a
// progress meter and on the lease's own progress (vSphere's task).
func upload(ctx context.Context, lease *nfc.Lease, archive importer.Archive, item nfc.FileItem, name string, o Options) error {
	f, size, err := archive.Open(item.Path)
	if err != nil {
		return fmt.Errorf("reading %s from the OVA: %w", item.Path, err)
	}
	defer f.Close()
	meter := progress.New(o.Out, "vsphere: "+name+" "+path.Base(item.Path), size, 0)
	defer meter.Done()
	return lease.Upload(ctx, item, io.TeeReader(f, meter), soap.Upload{ContentLength: size})
}

func writeNote(out io.Writer, msg string) (int, error) {
	if out == nil {
		return len(msg), nil
	}
	return fmt.Fprintf(out, "note: %s", msg)
}

// oneLine keeps the first line of an error.
func oneLine(err error) error {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return shorterr.New(s, err)
}
