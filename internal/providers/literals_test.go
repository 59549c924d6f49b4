package providers_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gold-standard-images/internal/providers"
)

// allowedNames are the places outside internal/providers whose code may
// spell a provider's name, each with why: a file, or a file and the field of
// a composite literal ("file:Field"). Anything else reads the provider's row.
var allowedNames = map[string]string{
	"internal/inspect/rules.go:Providers":      "a platform's own inspection rules (its agent, drivers, console), as its playbook's roles; the rules of its kind come from the row",
	"internal/awsimport/awsimport.go":          "the upload to AWS: the aws folder is what it uploads",
	"internal/azureimage/azureimage.go":        "the upload to Azure: the azure folder is what it uploads",
	"internal/gcpimage/gcpimage.go":            "the upload to GCP: the gcp folder is what it uploads",
	"internal/glanceimage/glanceimage.go":      "the upload to OpenStack: the openstack folder is what it uploads",
	"internal/glanceimage/auth.go":             "~/.config/openstack/clouds.yaml, OpenStack's own folder, not the provider",
	"internal/dockerpush/dockerpush.go":        "the push to a registry: the docker folder is what it pushes",
	"internal/vsphereimport/vsphereimport.go":  "the upload to vSphere: the vmware folder is what it uploads",
	"internal/kickstart/kscontainer/engine.go": "docker, the container engine, not the provider",
	"internal/boxcheck/boxcheck.go":            "the Vagrant providers (hypervisors) installed on the host, not image providers",
	"internal/plan/plan.go":                    "runner capabilities and their labels (a runner with VirtualBox or VMware), not providers",
	"internal/debian/rows.go":                  "the Debian family's content per provider (packages, cloud-init's datasources, the kernel line), as each provider's playbook is; internal/buildsteps holds its list to the family's row",
}

// TestNoCodeOutsideProvidersListsProviderNames holds that what a provider
// means lives in its row: a string literal that is a provider's name in
// non-test Go code outside internal/providers (and test/, the end-to-end
// tests) is an error unless allowedNames says why it is there.
func TestNoCodeOutsideProvidersListsProviderNames(t *testing.T) {
	names := providers.Names(providers.All)
	used := map[string]bool{}
	for _, dir := range []string{"internal", "magefiles"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			if d.IsDir() && (rel == "internal/providers" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for field, lit := range providerLiterals(f, names) {
				place := rel
				if _, ok := allowedNames[rel+":"+field]; ok && field != "" {
					place = rel + ":" + field
				}
				if _, ok := allowedNames[place]; !ok {
					t.Errorf("%s names provider %s: read what it needs from its row in internal/providers (or add the place to allowedNames, with why)", rel, lit)
				}
				used[place] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for place := range allowedNames {
		if !used[place] {
			t.Errorf("allowedNames lists %s, which names no provider any more: remove it", place)
		}
	}
}

// providerLiterals yields the string literals of f that are one of names,
// each with the field of the composite literal it is in ("" for none).
func providerLiterals(f *ast.File, names []string) func(yield func(string, string) bool) {
	return func(yield func(string, string) bool) {
		var fields []string // the key of each enclosing key: value, innermost last
		var stack []ast.Node
		ok := true
		ast.Inspect(f, func(n ast.Node) bool {
			if !ok {
				return false
			}
			if n == nil {
				if kv, isKV := stack[len(stack)-1].(*ast.KeyValueExpr); isKV && keyName(kv) != "" {
					fields = fields[:len(fields)-1]
				}
				stack = stack[:len(stack)-1]
				return false
			}
			stack = append(stack, n)
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if k := keyName(n); k != "" {
					fields = append(fields, k)
				}
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); n.Kind == token.STRING && err == nil && slices.Contains(names, s) {
					field := ""
					if len(fields) > 0 {
						field = fields[len(fields)-1]
					}
					ok = yield(field, n.Value)
				}
			}
			return true
		})
	}
}

func keyName(kv *ast.KeyValueExpr) string {
	if id, ok := kv.Key.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
