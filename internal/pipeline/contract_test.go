package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gold-standard-images/internal/packer"
	"gold-standard-images/internal/packer/packertest"
	"gold-standard-images/internal/providers"
	"gold-standard-images/internal/run"
)

// realPacker is the real Packer the contract tests run.
func realPacker(t *testing.T) string {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return packertest.Real(t, root)
}

// contractFixture is a fixture whose templates are
// testdata/packer-contract/contract.pkr.hcl (null builds) instead of the
// real ones.
func contractFixture(t *testing.T) *fixture {
	f := newFixture(t)
	tmpl, err := os.ReadFile(filepath.Join("testdata", "packer-contract", "contract.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(f.root, packer.TemplatesDir, "build.pkr.hcl"))
	f.write(filepath.Join(packer.TemplatesDir, "contract.pkr.hcl"), string(tmpl))
	return f
}

func TestRealPackerAcceptsTheVarFileAndArguments(t *testing.T) {
	bin := realPacker(t)
	f := contractFixture(t)

	p := providers.Provider{Name: "contract", Builder: "null", Group: 1}
	b := &build{cfg: f.config(), accelerator: "kvm", isoPath: "/isos/CentOS 7.iso", isoSHA256: strings.Repeat("ab", 32), ksPort: 8123}
	b.cfg.Site.KSServer = "http://ks.example.org/$path"
	args, err := b.command(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := run.Output(context.Background(), run.Cmd{
		Name: bin,
		Args: args,
		Dir:  f.root,
		Env:  []string{"CHECKPOINT_DISABLE=1", "PACKER_CACHE_DIR=" + filepath.Join(f.root, ".cache", "packer_cache")},
	})
	if err != nil {
		t.Fatalf("packer build: %v\n%s", err, out)
	}
	for _, want := range []string{
		"vm_name=" + vmName + " version=1.0.0 os=7.9.2009 repo=https://vault.centos.org",
		"iso=/isos/CentOS 7.iso sha256:" + strings.Repeat("ab", 32),
		"ks=0 http://ks.example.org headless=true disk=20480",
		"ssh=60m " + filepath.Join(f.root, "keys", "packer") + " " + filepath.Join(f.root, "keys", "vagrant.pub"),
		"out=" + filepath.Join(f.root, ".cache", "packer-output", "1.0.0", vmName) + " root=" + f.root + " accel=kvm",
		"cpus=2 memory=2048 nat=true",
		"firmware=bios menu=isolinux guest=centos7-64",
		"path=/$path/ks.php namespace=gold server=http://ks.example.org/$path os=" + vmName + " root=true",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Packer's output lacks %q:\n%s", want, out)
		}
	}
	// packer build says nothing of a var-file variable the templates do
	// not declare; packer validate warns.
	varFile := filepath.Join(f.root, b.cfg.Tree().VarFile(p.Name))
	validated, err := run.Output(context.Background(), run.Cmd{
		Name: bin,
		Args: []string{"validate", "-only=" + p.PackerSource(), "-var-file=" + varFile, packer.TemplatesDir},
		Dir:  f.root,
		Env:  packer.Env,
	})
	if err != nil || strings.Contains(string(validated), "Warning") {
		t.Errorf("packer validate of the var-file: %v\n%s", err, validated)
	}
}

func TestRealPackerStopsOnCancellationAndLeavesNoOutput(t *testing.T) {
	bin := realPacker(t)
	f := contractFixture(t)
	f.write(filepath.Join(packer.TemplatesDir, "sleep.auto.pkrvars.hcl"), "sleep_seconds = 600\n")

	p := providers.Provider{Name: "sleeper", Builder: "null", Group: 1}
	b := &build{cfg: f.config(), packer: bin, opts: Options{Out: &f.out, Grace: 30 * time.Second}.withDefaults()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.packerBuild(ctx, p) }()
	partial := filepath.Join(f.outputDir("sleeper"), "partial.vmdk")
	for {
		if _, err := os.Stat(partial); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("packer ended before it was cancelled: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("packer did not stop within 60s of SIGINT")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if _, err := os.Stat(f.outputDir("sleeper")); !os.IsNotExist(err) {
		t.Errorf("the output folder is still there after cancellation (%v)", err)
	}
	log, _ := os.ReadFile(filepath.Join(f.root, b.cfg.Tree().Log(p.Name)))
	if !strings.Contains(string(log), "Cancelling build after receiving interrupt") {
		t.Errorf("the log does not show that Packer was interrupted:\n%s", log)
	}
}

// TestRealPackerFailureIsQuotedInTheSummaryAndError runs a real Packer
// build that fails and checks that the summary and the error quote
// Packer's own error line and name the log.
func TestRealPackerFailureIsQuotedInTheSummaryAndError(t *testing.T) {
	bin := realPacker(t)
	f := contractFixture(t)

	p := providers.Provider{Name: "failer", Builder: "null", Group: 1}
	b := &build{cfg: f.config(), packer: bin, opts: Options{Out: &f.out, Grace: 30 * time.Second}.withDefaults()}
	b.results = []Result{{Provider: p.Name, Status: NotRun, Log: b.cfg.Tree().Log(p.Name)}}
	if err := (groupStep{b, []providers.Provider{p}}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := b.results[0]
	if r.Status != Failed {
		t.Fatalf("status %s, want failed", r.Status)
	}
	const want = "--> null.failer: Script exited with non-zero exit status: 3. Allowed exit codes are: [0]"
	if len(r.Why) == 0 || !strings.HasPrefix(r.Why[len(r.Why)-1], want) {
		t.Fatalf("Why = %q, want Packer's line %q", r.Why, want)
	}
	var summary strings.Builder
	writeSummary(&summary, b.results)
	for _, w := range []string{"failer failed, says Packer (" + r.Log + "):", want} {
		if !strings.Contains(summary.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, summary.String())
		}
	}
	if !strings.Contains(f.out.String(), "failer: FAILED after") || !strings.Contains(f.out.String(), want) {
		t.Errorf("progress does not quote Packer:\n%s", f.out.String())
	}
}
