//go:build mage

package main

import (
	"context"
	"os"

	"gold-standard-images/internal/dockerpush"
)

// Docker pushes the docker image of a vm_name to a container registry, no Docker daemon needed.
//
// Reads artifacts/<version>/<vm_name>/docker/<vm_name>-<version>_docker.tar.gz
// and pushes <registry>/<namespace>/<vm_name lower case>:<version> and :latest.
// Environment: REGISTRY (host[:port]; else "registry" in templates/site.json),
// REGISTRY_NAMESPACE (else the site's "namespace"), REGISTRY_INSECURE=1
// allows plain HTTP to a registry that is not localhost, DOCKER_OUT=<folder>
// writes an OCI image layout there instead of pushing, DOCKER_CONFIG the
// docker config folder with credentials (docker login), VERSION.
func (Upload) Docker(ctx context.Context, vmName string) error {
	cfg, err := loadConfig(vmName)
	if err != nil {
		return err
	}
	s := dockerpush.SettingsFromEnv(cfg.Site, os.Getenv)
	s.Out = os.Stderr
	where, err := dockerpush.Publish(ctx, cfg, s)
	if err == nil {
		say("docker: %s:%s and :latest written to %s", vmName, cfg.Site.Version, where)
	}
	return err
}
