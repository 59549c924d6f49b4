// Command ksserver is the kickstart server of the container that mage ks:up
// runs for bare-metal installs. It serves /ks and /ks.php from the files
// below -root (http/builds, http/templates, keys/packer.pub, targets.json),
// logs one line per request and stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"gold-standard-images/internal/kickstart"
)

func main() {
	root := flag.String("root", "/srv", "folder with http/, keys/packer.pub and targets.json")
	addr := flag.String("addr", ":8080", "address to listen on")
	flag.Parse()
	if err := run(*root, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "ksserver:", err)
		os.Exit(1)
	}
}

func run(root, addr string) error {
	data, err := os.ReadFile(filepath.Join(root, "targets.json"))
	if err != nil {
		return fmt.Errorf("reading the OS targets: %w", err)
	}
	targets, err := kickstart.UnmarshalTargets(data)
	if err != nil {
		return err
	}
	k, err := kickstart.Load(root, targets, kickstart.Options{})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return kickstart.Serve(ctx, addr, k.Handler(), os.Stderr, func(a string) {
		fmt.Fprintf(os.Stderr, "ksserver: serving %d builds for %v on %s\n", len(k.Builds()), k.OSNames(), a)
	})
}
