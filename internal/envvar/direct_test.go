package envvar

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// entryPoint reports whether dir may hand os.Getenv to the packages: the
// targets, the commands and the test helper packages (packertest).
func entryPoint(dir string) bool {
	return dir == "magefiles" || strings.HasPrefix(dir, "cmd/") || strings.HasSuffix(dir, "test")
}

// TestNothingReadsTheEnvironmentPastTheTable scans the Go sources (not the
// tests, not testdata/) for two things: a call of getenv, Getenv or
// LookupEnv outside this package (every read goes through a row), and
// os.Getenv handed on deep inside a package (the targets pass it in; a
// package takes a getenv, e.g. Options.Getenv with nil meaning os.Getenv).
func TestNothingReadsTheEnvironmentPastTheTable(t *testing.T) {
	root := "../.."
	fset := token.NewFileSet()
	for _, top := range []string{"internal", "magefiles", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			dir := filepath.ToSlash(filepath.Dir(rel))
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || dir == "internal/envvar" {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			for _, p := range directReads(f, fset, rel, entryPoint(dir)) {
				t.Error(p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// directReads lists the problems of one file named rel.
func directReads(f *ast.File, fset *token.FileSet, rel string, entry bool) []string {
	var problems []string
	at := func(n ast.Node) string {
		return rel + ":" + strconv.Itoa(fset.Position(n.Pos()).Line)
	}
	// os.Getenv as the value of an assignment (a nil default), or called
	// (reported as a read).
	allowed := map[ast.Expr]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, e := range n.Rhs {
				allowed[e] = true
			}
		case *ast.CallExpr:
			name := calleeName(n.Fun)
			switch strings.ToLower(name) {
			case "getenv", "lookupenv":
			default:
				return true
			}
			what := "a variable"
			if len(n.Args) > 0 {
				if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					what = strconv.Quote(v)
					if _, ok := Lookup(v); !ok {
						what += " (not in the table: add a row)"
					}
				}
			}
			problems = append(problems, at(n)+": "+name+" reads "+what+" directly: read it through its row in internal/envvar")
			allowed[n.Fun] = true
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && x.Name == "os" && n.Sel.Name == "Getenv" && !entry && !allowed[n] {
				problems = append(problems, at(n)+": os.Getenv is handed on inside a package: take a getenv from the caller (Options.Getenv, nil meaning os.Getenv)")
			}
		}
		return true
	})
	return problems
}

// calleeName is the name a call calls: getenv, or Getenv of os.Getenv and
// opts.Getenv.
func calleeName(fun ast.Expr) string {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

func TestDirectReadsNameTheLineAndTheVariable(t *testing.T) {
	const src = `package p

import "os"

type Options struct{ Getenv func(string) string }

func f(o Options, getenv func(string) string) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	_ = Force.Or(getenv, false)
	_ = getenv("FORCE")
	_ = os.Getenv("NO_SUCH_VARIABLE")
	g(os.Getenv)
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := directReads(f, fset, "internal/p/p.go", false)
	want := []string{
		`internal/p/p.go:12: getenv reads "FORCE" directly: read it through its row in internal/envvar`,
		`internal/p/p.go:13: Getenv reads "NO_SUCH_VARIABLE" (not in the table: add a row) directly: read it through its row in internal/envvar`,
		`internal/p/p.go:14: os.Getenv is handed on inside a package: take a getenv from the caller (Options.Getenv, nil meaning os.Getenv)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("directReads =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := directReads(f, fset, "magefiles/p.go", true); len(got) != 2 {
		t.Errorf("in an entry point, want only the two reads reported, got %q", got)
	}
}
