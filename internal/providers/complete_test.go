package providers_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gold-standard-images/internal/pipeline"
	"gold-standard-images/internal/providers"
)

// root is the repository root, two folders up from internal/providers.
const root = "../.."

// place is one of the places outside providers.All that name each provider
// (CONTRIBUTING.md, "Adding a provider").
type place struct {
	where string                          // file or Go symbol
	add   string                          // what a provider needs there
	names func(t *testing.T) []string     // the providers it names
	key   func(providers.Provider) string // how it names one; nil: by Name
	only  *subset                         // which providers need it; nil: every one
}

// subset is the providers a place is for.
type subset struct {
	who string
	has func(providers.Provider) bool
}

// vagrantImages are the providers whose image itself is a Vagrant image (its
// box is made as built, so Ansible gives it the vagrant user); a debug box
// gets its vagrant user from convert, on a copy.
var vagrantImages = &subset{"providers of Kind VagrantImage (their box is made from the image as built)",
	func(p providers.Provider) bool { return p.Kind == providers.VagrantImage }}

// lockedRoots are the providers whose playbook locks root's password.
var lockedRoots = &subset{"providers with RootLocked (their playbook locks root)",
	func(p providers.Provider) bool { return p.RootLocked }}

var places = []place{
	{where: "templates/packer/build.pkr.hcl", add: `a source block in the build with name = "<provider>" (or a source in sources.pkr.hcl listed in the build's sources)`,
		names: packerBuilds, key: providers.Provider.PackerSource},
	{where: "templates/packer/sources.pkr.hcl (local.ks_base)", add: "the kickstart base URL its guest uses (its boot_command)",
		names: ksBaseKeys},
	{where: "http/builds/virtual/<provider>", add: "the build definition of its guest (disk, ...)",
		names: virtualBuilds},
	{where: "ansible/<provider>.yml", add: "the build's playbook",
		names: playbooks},
	{where: "ansible/site.yml", add: "import_playbook: <provider>.yml with when: build == '<provider>'",
		names: siteImports},
	{where: "ansible/group_vars/all.yml (gsi_builds)", add: "its name",
		names: func(t *testing.T) []string { return yamlList(t, "ansible/group_vars/all.yml", "gsi_builds") }},
	{where: "ansible/group_vars/all.yml (gsi_vagrant_builds)", add: "its name, since its Vagrant box is made from the image as built",
		names: func(t *testing.T) []string { return yamlList(t, "ansible/group_vars/all.yml", "gsi_vagrant_builds") }, only: vagrantImages},
	{where: "ansible/<provider>.yml (roles)", add: "the role random_password, since its row says RootLocked (or drop RootLocked from the row)",
		names: withRole("random_password"), only: lockedRoots},
	{where: "internal/pipeline/preflight.go (HostTools)", add: "the tools of its builder (a HostTool whose Builders holds it)",
		names: withHostTools},
}

func TestEveryProviderIsNamedInEveryPlaceItNeeds(t *testing.T) {
	for _, pl := range places {
		names := pl.names(t)
		for _, p := range providers.All {
			if (pl.only == nil || pl.only.has(p)) && !slices.Contains(names, pl.keyOf(p)) {
				where, add := strings.ReplaceAll(pl.where, "<provider>", p.Name), strings.ReplaceAll(pl.add, "<provider>", p.Name)
				t.Errorf("provider %q is missing from %s: add %s (see CONTRIBUTING.md, \"Adding a provider\")", p.Name, where, add)
			}
		}
	}
}

func TestNoPlaceNamesAProviderThatIsNotInProvidersAll(t *testing.T) {
	for _, pl := range places {
		for _, name := range pl.names(t) {
			i := slices.IndexFunc(providers.All, func(p providers.Provider) bool { return pl.keyOf(p) == name })
			switch {
			case i < 0:
				t.Errorf("%s names %q, which is not in providers.All: add it there or remove it here (see CONTRIBUTING.md, \"Adding a provider\")", pl.where, name)
			case pl.only != nil && !pl.only.has(providers.All[i]):
				t.Errorf("%s names %q, but only %s belong there: remove it (see CONTRIBUTING.md, \"Adding a provider\")", pl.where, name, pl.only.who)
			}
		}
	}
}

func (pl place) keyOf(p providers.Provider) string {
	if pl.key == nil {
		return p.Name
	}
	return pl.key(p)
}

func read(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

var (
	nestedSourceRE = regexp.MustCompile(`(?s)source "source\.([\w-]+)\.[\w-]+"\s*\{(.*?)\n\s*\}\n`) // to the first line that is only "}"
	nameRE         = regexp.MustCompile(`(?m)^\s*name\s*=\s*"([\w-]+)"`)
	sourcesListRE  = regexp.MustCompile(`sources\s*=\s*\[([^\]]*)\]`)
	sourceRefRE    = regexp.MustCompile(`"source\.([\w-]+\.[\w-]+)"`)
	sourceDeclRE   = regexp.MustCompile(`(?m)^source "([\w-]+)" "([\w-]+)"`)
)

// packerBuilds lists the builds of templates/packer as <builder>.<name>:
// the build's own source blocks (name = ...) and the declared sources its
// sources list names.
func packerBuilds(t *testing.T) []string {
	build := read(t, "templates/packer/build.pkr.hcl")
	declared := map[string]bool{}
	for _, m := range sourceDeclRE.FindAllStringSubmatch(read(t, "templates/packer/sources.pkr.hcl")+build, -1) {
		declared[m[1]+"."+m[2]] = true
	}
	var out []string
	for _, m := range nestedSourceRE.FindAllStringSubmatch(build, -1) {
		if n := nameRE.FindStringSubmatch(m[2]); n != nil {
			out = append(out, m[1]+"."+n[1])
		}
	}
	for _, list := range sourcesListRE.FindAllStringSubmatch(build, -1) {
		for _, ref := range sourceRefRE.FindAllStringSubmatch(list[1], -1) {
			if declared[ref[1]] {
				out = append(out, ref[1])
			}
		}
	}
	return out
}

var (
	ksBaseRE = regexp.MustCompile(`(?s)\bks_base = \{(.*?)\}`)
	keyRE    = regexp.MustCompile(`(?m)^\s*([\w-]+)\s*=`)
)

func ksBaseKeys(t *testing.T) []string {
	m := ksBaseRE.FindStringSubmatch(read(t, "templates/packer/sources.pkr.hcl"))
	if m == nil {
		t.Fatal("templates/packer/sources.pkr.hcl has no ks_base = { ... } map")
	}
	var keys []string
	for _, k := range keyRE.FindAllStringSubmatch(m[1], -1) {
		keys = append(keys, k[1])
	}
	return keys
}

func virtualBuilds(t *testing.T) []string {
	entries, err := os.ReadDir(filepath.Join(root, "http/builds/virtual"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != "defaults" {
			names = append(names, e.Name())
		}
	}
	return names
}

func playbooks(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(root, "ansible", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".yml"); name != "site" {
			names = append(names, name)
		}
	}
	return names
}

var importRE = regexp.MustCompile(`import_playbook: ([\w-]+)\.yml\s*\n\s*when: build == '([\w-]+)'`)

// siteImports lists the builds ansible/site.yml imports a playbook for
// under a matching when.
func siteImports(t *testing.T) []string {
	var names []string
	for _, m := range importRE.FindAllStringSubmatch(read(t, "ansible/site.yml"), -1) {
		if m[1] == m[2] {
			names = append(names, m[1])
		}
	}
	return names
}

// yamlList returns the items of the top-level list key in the YAML file rel.
func yamlList(t *testing.T, rel, key string) []string {
	var items []string
	in := false
	for _, line := range strings.Split(read(t, rel), "\n") {
		switch {
		case line == key+":":
			in = true
		case in && strings.HasPrefix(strings.TrimSpace(line), "- "):
			items = append(items, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "- ")))
		default:
			in = false
		}
	}
	return items
}

// withHostTools lists the providers whose builder has a tool in
// pipeline.HostTools.
func withHostTools(*testing.T) []string {
	var names []string
	for _, p := range providers.All {
		for _, tool := range pipeline.HostTools {
			if slices.Contains(tool.Builders, p.Builder) {
				names = append(names, p.Name)
				break
			}
		}
	}
	return names
}

// withRole lists the providers whose playbook, ansible/<provider>.yml, has
// role among its roles (a "- role" line or "- role: role").
func withRole(role string) func(*testing.T) []string {
	re := regexp.MustCompile(`(?m)^\s*- (role: )?` + regexp.QuoteMeta(role) + `\s*$`)
	return func(t *testing.T) []string {
		var names []string
		for _, name := range playbooks(t) {
			if re.MatchString(read(t, "ansible/"+name+".yml")) {
				names = append(names, name)
			}
		}
		return names
	}
}
