package envvar

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env is a getenv over a map.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestBoolTakesOneOrZeroAndTheirSpellings(t *testing.T) {
	for _, tc := range []struct {
		value   string
		def     bool
		want    bool
		wantErr string
	}{
		{value: "", def: false, want: false},
		{value: "", def: true, want: true},
		{value: "1", want: true},
		{value: "true", want: true},
		{value: "TRUE", want: true},
		{value: "True", want: true},
		{value: "t", want: true},
		{value: "0", def: true, want: false},
		{value: "false", def: true, want: false},
		{value: "F", def: true, want: false},
		{value: "maybe", wantErr: `reading environment variable FORCE="maybe": want 1 or 0`},
		{value: "yes", wantErr: `FORCE="yes": want 1 or 0`},
	} {
		got, err := Force.Or(env(map[string]string{"FORCE": tc.value}), tc.def)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("FORCE=%q: err = %v, want %q", tc.value, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("FORCE=%q (default %v) = %v, %v; want %v", tc.value, tc.def, got, err, tc.want)
		}
	}
}

func TestDurationTakesAPositiveGoDuration(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{value: "", want: time.Hour},
		{value: "90m", want: 90 * time.Minute},
		{value: "soon", wantErr: true},
		{value: "0", wantErr: true},
		{value: "-1h", wantErr: true},
	} {
		got, err := PackerTimeout.Or(env(map[string]string{"PACKER_TIMEOUT": tc.value}), time.Hour)
		if tc.wantErr {
			if want := `reading environment variable PACKER_TIMEOUT="` + tc.value + `": want a Go duration such as 90m`; err == nil || err.Error() != want {
				t.Errorf("PACKER_TIMEOUT=%q: err = %v, want %q", tc.value, err, want)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("PACKER_TIMEOUT=%q = %v, %v; want %v", tc.value, got, err, tc.want)
		}
	}
}

func TestChoiceTakesOnlyItsValues(t *testing.T) {
	for value, want := range map[string]string{"": "", "kvm": "kvm", "tcg": "tcg"} {
		if got, err := QEMUAccelerator.Get(env(map[string]string{"QEMU_ACCELERATOR": value})); err != nil || got != want {
			t.Errorf("QEMU_ACCELERATOR=%q = %q, %v; want %q", value, got, err, want)
		}
	}
	_, err := QEMUAccelerator.Get(env(map[string]string{"QEMU_ACCELERATOR": "KVM"}))
	if want := `reading environment variable QEMU_ACCELERATOR="KVM": want kvm or tcg`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestNumberTextAndWordsReadTheirVariable(t *testing.T) {
	e := env(map[string]string{"KS_PORT": "8081", "KS_ADDR": "0.0.0.0:80", "CONTAINER_RUN_FLAGS": " --a  b ", "ISO_CACHE": ""})
	if n, err := KSPort.Or(e, 8080); err != nil || n != 8081 {
		t.Errorf("KS_PORT = %d, %v; want 8081", n, err)
	}
	if n, err := KSPort.Or(env(nil), 8080); err != nil || n != 8080 {
		t.Errorf("KS_PORT unset = %d, %v; want 8080", n, err)
	}
	if _, err := KSPort.Or(env(map[string]string{"KS_PORT": "http"}), 8080); err == nil || err.Error() != `reading environment variable KS_PORT="http": want a whole number` {
		t.Errorf("KS_PORT=http: err = %v", err)
	}
	if got := KSAddr.Or(e, "127.0.0.1:8080"); got != "0.0.0.0:80" {
		t.Errorf("KS_ADDR = %q", got)
	}
	if got := ISOCache.Or(e, "isos"); got != "isos" {
		t.Errorf("empty ISO_CACHE = %q, want the default", got)
	}
	if got := ContainerRunFlags.Get(e); !reflect.DeepEqual(got, []string{"--a", "b"}) {
		t.Errorf("CONTAINER_RUN_FLAGS = %q", got)
	}
}

// TestEveryRowIsInAllOnceWithItsDoc holds table.go and All together: a row
// declared but left out of All would be read but never documented.
func TestEveryRowIsInAllOnceWithItsDoc(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "table.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
			for _, s := range g.Specs {
				for _, n := range s.(*ast.ValueSpec).Names {
					if n.Name != "All" {
						declared++
					}
				}
			}
		}
	}
	if declared != len(All) {
		t.Errorf("table.go declares %d rows, All holds %d", declared, len(All))
	}
	seen := map[string]bool{}
	for _, r := range All {
		v := r.Variable()
		if seen[v.Name] {
			t.Errorf("%s is in All twice", v.Name)
		}
		seen[v.Name] = true
		if v.Doc == "" || r.Takes() == "" || strings.Contains(v.Doc, "|") {
			t.Errorf("%s: want a Doc and a Value without '|', got %q, %q", v.Name, v.Doc, r.Takes())
		}
		if got, ok := Lookup(v.Name); !ok || got.Variable() != v {
			t.Errorf("Lookup(%q) = %v, %v", v.Name, got, ok)
		}
	}
}
