// Package dockerpush publishes the docker artifact (a gzip rootfs tarball)
// as a container image without a Docker daemon: one layer that is the
// .tar.gz file byte for byte, pushed to a registry or written as an OCI
// image layout for air-gapped sites. It has the shape of every upload
// package (README, Layout): Settings, SettingsFromEnv, Options, Source,
// Publish and Result.
package dockerpush

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/httpbound"
	"gold-standard-images/internal/httpretry"
	"gold-standard-images/internal/progress"
	"gold-standard-images/internal/redact"
	"gold-standard-images/internal/run"
	"gold-standard-images/internal/sbom"
)

// Provider is the provider whose artifact this upload takes.
const Provider = "docker"

// OCI label keys the image carries.
const (
	LabelTitle    = "org.opencontainers.image.title"
	LabelVersion  = "org.opencontainers.image.version"
	LabelCreated  = "org.opencontainers.image.created"
	LabelRevision = "org.opencontainers.image.revision"
	LabelSource   = "org.opencontainers.image.source"
	refNameKey    = "org.opencontainers.image.ref.name"
)

// Meta describes the image built from a rootfs tarball.
type Meta struct {
	Title    string    // image title, the vm_name
	Version  string    // image version, also its tag
	Created  time.Time // creation time; the artifact's modification time keeps re-pushes identical
	Revision string    // source revision (git commit); empty leaves the label out
	Source   string    // source repository URL; empty leaves the label out
	// SBOMDigest is the sha256:<hex> of the image's SBOM; empty leaves the
	// label out.
	SBOMDigest string
}

// Image builds the image of the gzip rootfs tarball at path: one OCI layer
// whose bytes (and so digest) are the file's own, config os linux,
// architecture amd64, Cmd /bin/bash and the OCI labels of m. The layer's
// digests come from the record beside the file when it still describes the
// file, so an unchanged tarball is not read again (internal/layerdigest).
func Image(ctx context.Context, path string, m Meta) (v1.Image, error) {
	layer, err := newFileLayer(ctx, path)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{
		LabelTitle:   m.Title,
		LabelVersion: m.Version,
		LabelCreated: m.Created.UTC().Format(time.RFC3339),
	}
	if m.Revision != "" {
		labels[LabelRevision] = m.Revision
	}
	if m.Source != "" {
		labels[LabelSource] = m.Source
	}
	if m.SBOMDigest != "" {
		labels[LabelSBOMDigest] = m.SBOMDigest
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: m.Created.UTC()}, CreatedBy: "gold-standard-images upload:docker", Comment: filepath.Base(path)},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, fmt.Errorf("building image from %q: %w", path, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("building image from %q: %w", path, err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = "amd64"
	cf.Created = v1.Time{Time: m.Created.UTC()}
	cf.Config.Cmd = []string{"/bin/bash"}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Labels = labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("building image from %q: %w", path, err)
	}
	return img, nil
}

// Options tune how Publish pushes; the zero value is fine.
type Options struct {
	// Keychain finds credentials; nil is authn.DefaultKeychain (the docker
	// config file, $DOCKER_CONFIG, and its credential helpers).
	Keychain authn.Keychain
	// Transport is the HTTP transport; nil is http.DefaultTransport. A
	// request through it that stalls for 2 minutes is given up and retried.
	Transport http.RoundTripper
	// Backoff is how transient errors (network, 408/429/5xx) are retried;
	// zero is 5 tries starting at one second, tripling.
	Backoff remote.Backoff
	// Timeout bounds the whole upload: every request, retry and wait; zero
	// is 5 minutes plus 1 second per MiB of the layer (uploadBound).
	Timeout time.Duration
	// Out receives progress lines; nil is silent.
	Out io.Writer
	// Sign, optional, signs the pushed image and attaches its attestations
	// (release.ImageSigner) with opts, the push's registry options; attach
	// adds a file as an OCI referrer of the image, as the SBOM is. It says
	// what it did.
	Sign func(ctx context.Context, repo name.Repository, img v1.Image, opts []remote.Option, attach Attach) (string, error)
}

// uploadBound is the bound of one upload:docker as a whole, every request,
// retry and wait included (boundRule).
func uploadBound(size int64) time.Duration {
	return 5*time.Minute + time.Duration(size/(1<<20))*time.Second
}

const boundRule = "5 minutes plus 1 second per MiB of the layer"

// Attach adds the file data, named fileName, to the pushed image as an OCI
// referrer of artifactType: through the registry's referrers API where it
// has one, else in the referrers tag schema (go-containerregistry tells
// them apart by the registry's answer).
type Attach func(artifactType, fileName string, data []byte) error

// stallTimeout is how long a request to the registry may go without a byte
// moving (sent, answered or read) before it is given up and tried again:
// go-containerregistry and http.DefaultTransport bound only dialing and the
// TLS handshake, so a connection that stalls would hang upload:docker for
// good; a total limit per request would cut a large layer on a slow link.
var stallTimeout = 2 * time.Minute

// retryable is go-containerregistry's own test of a transient error, plus
// a stalled request, which that test leaves alone as a deadline.
func retryable(err error) bool {
	if temp, ok := err.(interface{ Temporary() bool }); ok && temp.Temporary() && !errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	for _, transient := range []error{io.ErrUnexpectedEOF, io.EOF, syscall.EPIPE, syscall.ECONNRESET, net.ErrClosed} {
		if errors.Is(err, transient) {
			return true
		}
	}
	return httpbound.Stalled(err)
}

// retryCodes are the HTTP statuses retried as transient.
var retryCodes = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// Repository is <registry>/<namespace>/<vmName in lower case>.
func Repository(registry, namespace, vmName string) string {
	parts := []string{registryHost(registry)}
	if namespace != "" {
		parts = append(parts, strings.Trim(namespace, "/"))
	}
	return strings.ToLower(strings.Join(append(parts, vmName), "/"))
}

// IsLoopback reports whether a registry host[:port] is on this machine,
// where plain HTTP is allowed: the name localhost, or an address that parses
// as a loopback IP (127.0.0.0/8, ::1). Other names never count, whatever
// they look like (127.evil.example).
func IsLoopback(host string) bool {
	h := host
	if u, err := url.Parse("//" + host); err == nil && u.Hostname() != "" {
		h = u.Hostname()
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}

// Push pushes img to repo (host/path) under every tag in tags. Blobs the
// registry already has are not uploaded again; transient errors are retried.
// insecure allows plain HTTP to a registry that is not on the loopback
// interface; loopback registries may always use it.
func Push(ctx context.Context, img v1.Image, repo string, tags []string, insecure bool, o Options) error {
	if len(tags) == 0 {
		return fmt.Errorf("pushing to %q: no tags given", repo)
	}
	refs := make([]name.Tag, len(tags))
	for i, t := range tags {
		ref, err := name.NewTag(repo+":"+t, append(repoOptions(insecure), name.StrictValidation)...)
		if err != nil {
			return fmt.Errorf("pushing image: reference %q: %w", repo+":"+t, err)
		}
		refs[i] = ref
	}
	opts := o.remoteOptions(ctx, refs[0].RegistryStr(), insecure)
	var total int64
	if layers, err := img.Layers(); err == nil {
		for _, l := range layers {
			if n, err := l.Size(); err == nil {
				total += n
			}
		}
	}
	updates := make(chan v1.Update, 16)
	meter := progress.New(o.Out, "docker: "+refs[0].String(), total, 0)
	relayed := make(chan struct{})
	go func() {
		defer close(relayed)
		var last int64
		for u := range updates {
			if u.Complete > last {
				meter.Add(u.Complete - last)
				last = u.Complete
			}
		}
	}()
	err := remote.Write(refs[0], img, append(opts, remote.WithProgress(updates))...)
	<-relayed
	meter.Done()
	if err != nil {
		return pushError(refs[0], err)
	}
	for _, ref := range refs[1:] {
		if err := remote.Tag(ref, img, opts...); err != nil {
			return pushError(ref, err)
		}
	}
	return nil
}

// repoOptions are the reference options of a repository: plain HTTP
// allowed when insecure.
func repoOptions(insecure bool) []name.Option {
	if insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// remoteOptions are the options of every request to the registry host:
// credentials, the plain-HTTP guard, the stall bound, retries and the user
// agent.
func (o Options) remoteOptions(ctx context.Context, host string, insecure bool) []remote.Option {
	tr := httpbound.Transport(o.Transport, stallTimeout)
	// go-containerregistry retries with its own backoff alone: a 429 or
	// 503 is held for its Retry-After first, so the retry comes after it.
	tr = httpretry.Transport(tr, httpretry.Options{})
	tr = httpGuard{next: tr, allow: insecure || IsLoopback(host), host: host}
	keychain := o.Keychain
	if keychain == nil {
		keychain = authn.DefaultKeychain
	}
	backoff := o.Backoff
	if backoff.Steps == 0 {
		backoff = remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 5}
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(keychain),
		remote.WithTransport(tr),
		remote.WithRetryBackoff(backoff),
		remote.WithRetryPredicate(retryable),
		remote.WithRetryStatusCodes(retryCodes...),
		remote.WithUserAgent("gold-standard-images"),
	}
}

func pushError(ref name.Tag, err error) error {
	var terr *errHTTP
	if errors.As(err, &terr) {
		return fmt.Errorf("pushing %q: %w", ref.String(), err)
	}
	if httpbound.Stalled(err) {
		// go-containerregistry tries HTTPS and plain HTTP at once and puts
		// HTTPS's failure first ("TLS handshake timeout") even where the
		// registry speaks HTTP and merely stopped answering.
		return fmt.Errorf("pushing %q: the registry %s accepted the connection but answered nothing for %s (is it running, and its storage answering?): %w", ref.String(), ref.RegistryStr(), stallTimeout, err)
	}
	var rerr *transport.Error
	if errors.As(err, &rerr) && (rerr.StatusCode == http.StatusUnauthorized || rerr.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("pushing %q: the registry refused the credentials (docker login %s, or a credential helper in $DOCKER_CONFIG/config.json): %w", ref.String(), ref.RegistryStr(), err)
	}
	return fmt.Errorf("pushing %q: %w", ref.String(), err)
}

// errHTTP is the refusal of plain HTTP to a registry that is not loopback.
type errHTTP struct{ host string }

func (e *errHTTP) Error() string {
	return fmt.Sprintf("registry %q would be reached over plain HTTP; that is allowed only for localhost/127.0.0.1 or with REGISTRY_INSECURE=1 (registry_insecure in %s)", e.host, config.SiteFile)
}

// httpGuard refuses plain-HTTP requests unless allowed: go-containerregistry
// on its own also falls back to HTTP for private (RFC 1918) addresses.
type httpGuard struct {
	next  http.RoundTripper
	allow bool
	host  string
}

func (g httpGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" && !g.allow {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, &errHTTP{host: g.host}
	}
	return g.next.RoundTrip(r)
}

// WriteLayout writes img into the OCI image layout at dir (created when
// absent), once per tag with the tag as its org.opencontainers.image.ref.name.
// Entries with the same tag are replaced; blobs already there are kept.
func WriteLayout(dir string, img v1.Image, tags []string) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("writing OCI layout %q: %w", dir, err)
		}
	}
	for _, t := range tags {
		ann := map[string]string{refNameKey: t}
		if err := p.ReplaceImage(img, match.Annotation(refNameKey, t), layout.WithAnnotations(ann)); err != nil {
			return fmt.Errorf("writing OCI layout %q: tag %q: %w", dir, t, err)
		}
	}
	return nil
}

// Source is the file Publish reads, relative to cfg.Root:
// artifacts/<version>/<vm_name>/docker/<vm_name>-<version>_docker.tar.gz.
func Source(cfg *config.Config) string {
	return cfg.Tree().Artifact(Provider, "tar.gz")
}

// Settings are the site's choices for Publish: templates/site.json under
// the environment (SettingsFromEnv).
type Settings struct {
	Registry  string // host[:port]; empty is an error unless OutDir is set
	Namespace string // path below the registry
	Insecure  bool   // plain HTTP to a registry that is not on the loopback interface
	OutDir    string // write an OCI layout here instead of pushing
}

// SettingsFromEnv picks the registry, namespace, insecure flag and layout
// folder from the environment (REGISTRY, REGISTRY_NAMESPACE,
// REGISTRY_INSECURE, DOCKER_OUT) over the site settings. It fails on a
// REGISTRY_INSECURE other than 1 or 0 (true or false), a REGISTRY that is
// not host[:port], and a REGISTRY_NAMESPACE outside the OCI repository-name
// grammar.
func SettingsFromEnv(site config.Site, getenv func(string) string) (Settings, error) {
	s := Settings{
		Registry:  envvar.Registry.Or(getenv, site.Registry),
		Namespace: envvar.RegistryNamespace.Or(getenv, site.Namespace),
		OutDir:    envvar.DockerOut.Get(getenv),
	}
	insecure, err := envvar.RegistryInsecure.Or(getenv, site.RegistryInsecure)
	s.Insecure = insecure
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if host := registryHost(s.Registry); s.Registry != "" && !registryRe.MatchString(host) {
		errs = append(errs, fmt.Errorf("reading the registry %q (REGISTRY or \"registry\" in %s): want host[:port], such as registry.example.com:5000", s.Registry, config.SiteFile))
	}
	if ns := strings.Trim(s.Namespace, "/"); ns != "" && !namespaceRe.MatchString(strings.ToLower(ns)) {
		errs = append(errs, fmt.Errorf("reading the registry namespace %q (REGISTRY_NAMESPACE or \"namespace\" in %s): want path components of lower-case letters and digits joined by '.', '_', '__' or '-', separated by '/'", s.Namespace, config.SiteFile))
	}
	return s, errors.Join(errs...)
}

// registryHost is a registry setting without its http(s):// and trailing slash.
func registryHost(registry string) string {
	return strings.TrimRight(strings.TrimPrefix(strings.TrimPrefix(registry, "https://"), "http://"), "/")
}

// The registry host[:port] (a DNS name, an IPv4 address or a bracketed IPv6
// address) and the OCI distribution spec's repository path components.
var (
	registryRe  = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)
	namespaceRe = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
)

// Result is what Publish wrote.
type Result struct {
	Name   string   // the vm_name
	Tags   []string // the version, then latest
	Where  string   // the repository pushed to, or the OCI layout folder
	SBOM   string   // the SBOM's referrer, repository@digest; empty when none was attached
	Signed string   // what Options.Sign did; empty when it did not run
}

// String is the line upload:docker prints:
// "<vm_name>:<version> and :latest written to <where>".
func (r Result) String() string {
	line := fmt.Sprintf("%s:%s written to %s", r.Name, strings.Join(r.Tags, " and :"), r.Where)
	if r.SBOM != "" {
		line += ", SBOM attached as " + r.SBOM
	}
	if r.Signed != "" {
		line += ", " + r.Signed
	}
	return line
}

// Publish builds the image of cfg's docker artifact (Source) and pushes it
// as <registry>/<namespace>/<vm_name>:<version> and :latest, or writes it to
// the OCI layout s.OutDir. Where the build left an SBOM beside the artifact,
// the image carries its digest as a label, and it is attached as an OCI
// referrer of the image (AttachSBOM, AttachSBOMToLayout).
func Publish(ctx context.Context, cfg *config.Config, s Settings, o Options) (_ Result, err error) {
	defer func() { err = redact.Error(err) }() // an endpoint's credentials are never printed
	rel := Source(cfg)
	path := filepath.Join(cfg.Root, rel)
	_, err = checksum.Listed(ctx, path)
	if errors.Is(err, os.ErrNotExist) {
		return Result{}, fmt.Errorf("publishing docker image: artifact %q not found; build it first (mage build:os %s with ONLY=docker)", rel, cfg.OS.VMName)
	}
	if err != nil {
		return Result{}, fmt.Errorf("publishing docker image: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return Result{}, fmt.Errorf("publishing docker image: %w", err)
	}
	if s.OutDir == "" && s.Registry == "" {
		return Result{}, fmt.Errorf("publishing docker image: no registry: set REGISTRY=host[:port] or \"registry\" in %s (or DOCKER_OUT=<folder> for an OCI layout)", config.SiteFile)
	}
	meta := Meta{Title: cfg.OS.VMName, Version: cfg.Site.Version, Created: info.ModTime().UTC().Truncate(time.Second)}
	meta.Revision, meta.Source = gitInfo(ctx, cfg.Root)
	sbomPath := filepath.Join(filepath.Dir(path), sbom.FileName)
	if _, err := checksum.Listed(ctx, sbomPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Result{}, fmt.Errorf("publishing docker image: the SBOM: %w", err)
	}
	sbomData, err := os.ReadFile(sbomPath)
	switch {
	case err == nil:
		h, _, _ := v1.SHA256(bytes.NewReader(sbomData))
		meta.SBOMDigest = h.String()
	case !errors.Is(err, os.ErrNotExist):
		return Result{}, fmt.Errorf("publishing docker image: reading the SBOM: %w", err)
	}
	img, err := Image(ctx, path, meta)
	if err != nil {
		return Result{}, err
	}
	res := Result{Name: cfg.OS.VMName, Tags: []string{cfg.Site.Version, "latest"}}
	if s.OutDir != "" {
		res.Where = s.OutDir
		if err := WriteLayout(s.OutDir, img, res.Tags); err != nil {
			return res, err
		}
		if sbomData != nil {
			d, err := AttachSBOMToLayout(s.OutDir, img, sbom.FileName, sbomData)
			if err != nil {
				return res, err
			}
			res.SBOM = s.OutDir + "@" + d.String()
		}
		if o.Sign != nil {
			res.Signed = "not signed: an OCI layout holds no cosign signature; sign the image where it is pushed (cosign sign --key)"
		}
		return res, nil
	}
	res.Where = Repository(s.Registry, s.Namespace, cfg.OS.VMName)
	bound := o.Timeout
	if bound == 0 {
		bound = uploadBound(info.Size())
	}
	pctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	err = Push(pctx, img, res.Where, res.Tags, s.Insecure, o)
	if err == nil && sbomData != nil {
		var d v1.Hash
		if d, err = AttachSBOM(pctx, img, res.Where, sbom.FileName, sbomData, s.Insecure, o); err == nil {
			res.SBOM = res.Where + "@" + d.String()
		}
	}
	if err == nil && o.Sign != nil {
		var repo name.Repository
		repo, err = name.NewRepository(res.Where, repoOptions(s.Insecure)...)
		if err == nil {
			add := func(artifactType, fileName string, data []byte) error {
				_, err := attach(pctx, img, res.Where, artifactType, fileName, data, s.Insecure, o)
				return err
			}
			res.Signed, err = o.Sign(pctx, repo, img, o.remoteOptions(pctx, repo.RegistryStr(), s.Insecure), add)
		}
		if err != nil {
			err = fmt.Errorf("signing the docker image: %w", err)
		}
	}
	if err != nil && pctx.Err() != nil && ctx.Err() == nil {
		return res, fmt.Errorf("pushing to %s: gave up after %s, the bound of one upload (%s, or Options.Timeout): %w", res.Where, bound, boundRule, err)
	}
	return res, err
}

// gitInfo returns the commit checked out in root and the source URL of its
// origin (sourceURL); both are empty outside a git checkout.
func gitInfo(ctx context.Context, root string) (rev, source string) {
	out, err := run.Output(ctx, run.Cmd{Name: "git", Args: []string{"rev-parse", "HEAD"}, Dir: root, Timeout: time.Minute})
	if err == nil {
		rev = strings.TrimSpace(string(out))
	}
	out, err = run.Output(ctx, run.Cmd{Name: "git", Args: []string{"remote", "get-url", "origin"}, Dir: root, Timeout: time.Minute})
	if err == nil {
		source = sourceURL(strings.TrimSpace(string(out)))
	}
	return rev, source
}

var (
	gitSchemes = map[string]bool{"http": true, "https": true, "ssh": true, "git": true, "git+ssh": true, "ssh+git": true}
	scpHostRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)
)

// sourceURL is what the image's source label may say of a git origin: a
// URL (http, https, ssh, git) without user, password, query or fragment,
// or an scp-like address (host:path) without its user@; anything else, a
// local path above all (it names the builder's machine, not a source
// anyone can fetch), gives "", which leaves the label out.
func sourceURL(origin string) string {
	if strings.Contains(origin, "://") {
		u, err := url.Parse(origin)
		if err != nil || !gitSchemes[strings.ToLower(u.Scheme)] || u.Host == "" {
			return ""
		}
		u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
		return u.String()
	}
	// scp-like, as git reads it: [user@]host:path, a colon before any
	// slash. Everything up to the last @ before the first slash goes, so
	// that no user (or password) is kept however it is written.
	head, _, _ := strings.Cut(origin, "/")
	if i := strings.LastIndex(head, "@"); i >= 0 {
		origin = origin[i+1:]
	}
	hostPart, path, ok := strings.Cut(origin, ":")
	if !ok || strings.Contains(hostPart, "/") || path == "" {
		return ""
	}
	if len(hostPart) < 2 || !scpHostRe.MatchString(hostPart) { // "C:" is a Windows path
		return ""
	}
	return hostPart + ":" + path
}
