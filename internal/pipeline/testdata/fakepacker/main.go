// Command fakepacker stands in for Packer in the pipeline tests. For
// `packer build ... -only=<builder>.<provider> -var-file=<file> <dir>` it
// records, in $FAKE_PACKER_REC/<provider>/: args (one per line), env,
// vars.json (a copy of the var-file), start and end (UnixNano), and
// "signal" when it gets SIGINT. It writes a disk file into
// <output_root>/<provider>/ like a real build. Behaviour by environment:
//
//	FAKE_PACKER_FAIL=aws,gcp       these builds write a partial file and exit 1
//	FAKE_PACKER_FAIL_LOG=<file>    a failing build prints this file first (a
//	                               real Packer log of a failed build)
//	FAKE_PACKER_SLEEP=30s          every build sleeps this long (SIGINT ends it)
//	FAKE_PACKER_BARRIER=aws,virtualbox;gcp,vmware  a build named in a list
//	                               waits (at most 20s) until every build of its
//	                               list has started, else fails: proves they overlap
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakepacker:", err)
		os.Exit(1)
	}
}

func run() error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	args := os.Args[1:]
	var provider, varFile string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-only="); ok {
			_, provider, _ = strings.Cut(v, ".")
		}
		if v, ok := strings.CutPrefix(a, "-var-file="); ok {
			varFile = v
		}
	}
	if len(args) == 0 || args[0] != "build" || provider == "" || varFile == "" {
		return fmt.Errorf("unexpected arguments %q", args)
	}
	rec := filepath.Join(os.Getenv("FAKE_PACKER_REC"), provider)
	if err := os.MkdirAll(rec, 0o755); err != nil {
		return err
	}
	put := func(name, content string) {
		if err := os.WriteFile(filepath.Join(rec, name), []byte(content), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "fakepacker:", err)
			os.Exit(3)
		}
	}
	stamp := func() string { return strconv.FormatInt(time.Now().UnixNano(), 10) }
	put("start", stamp())
	put("args", strings.Join(args, "\n")+"\n")
	put("env", strings.Join(os.Environ(), "\n")+"\n")
	data, err := os.ReadFile(varFile)
	if err != nil {
		return err
	}
	put("vars.json", string(data))
	var vars struct {
		OutputRoot string `json:"output_root"`
		VMName     string `json:"vm_name"`
	}
	if err := json.Unmarshal(data, &vars); err != nil {
		return err
	}
	out := filepath.Join(vars.OutputRoot, provider)
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("output directory %s already exists", out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	fmt.Printf("==> %s: building %s\n", provider, vars.VMName)

	for _, b := range strings.Split(os.Getenv("FAKE_PACKER_BARRIER"), ";") {
		if !slices.Contains(strings.Split(b, ","), provider) {
			continue
		}
		deadline := time.Now().Add(20 * time.Second)
		for !allStarted(filepath.Dir(rec), strings.Split(b, ",")) {
			if time.Now().After(deadline) {
				return fmt.Errorf("barrier %s: the other builds did not start while this one ran", b)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if d := os.Getenv("FAKE_PACKER_SLEEP"); d != "" {
		dur, err := time.ParseDuration(d)
		if err != nil {
			return err
		}
		os.WriteFile(filepath.Join(out, "partial.vmdk"), []byte("half"), 0o644)
		select {
		case <-time.After(dur):
		case s := <-sig:
			put("signal", s.String())
			fmt.Println("==> interrupted, cleaning up")
			os.Exit(1)
		}
	}
	if slices.Contains(strings.Split(os.Getenv("FAKE_PACKER_FAIL"), ","), provider) {
		os.WriteFile(filepath.Join(out, "partial.vmdk"), []byte("half"), 0o644)
		if log := os.Getenv("FAKE_PACKER_FAIL_LOG"); log != "" {
			data, _ := os.ReadFile(log)
			os.Stdout.Write(data)
		}
		put("end", stamp())
		return fmt.Errorf("build %q errored: told to fail", provider)
	}
	if err := os.WriteFile(filepath.Join(out, vars.VMName+".disk"), []byte("disk of "+provider), 0o644); err != nil {
		return err
	}
	fmt.Printf("==> %s: done\n", provider)
	put("end", stamp())
	return nil
}

func allStarted(dir string, names []string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n, "start")); err != nil {
			return false
		}
	}
	return true
}
