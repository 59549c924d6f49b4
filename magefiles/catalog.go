//go:build mage

package main

import (
	"context"
	"os"

	"gold-standard-images/internal/catalog"
	"gold-standard-images/internal/config"
	"gold-standard-images/internal/envvar"
	"gold-standard-images/internal/tree"
)

// Catalog writes the Vagrant catalog artifacts/<vm_name>.json of every vm_name under artifacts/, for `vagrant box add artifacts/<vm_name>.json`.
//
// Box names are <namespace>/<vm_name> ("namespace" in templates/site.json,
// default "gold"). The debug boxes of aws, azure, docker, gcp, openstack and vmware (their disk
// with a vagrant user added) each go into artifacts/<vm_name>-<provider>.json,
// box <namespace>/<vm_name>-<provider>. Box URLs are file:// URLs unless CATALOG_BASE_URL is set
// (e.g. https://boxes.example.com/artifacts; no user, password, query or
// fragment): then they are that URL plus the box's path under artifacts/. A
// catalog with nothing new is left unchanged.
func Catalog(ctx context.Context) error {
	site, _, err := config.LoadSite(repoRoot(), os.Getenv)
	if err != nil {
		return err
	}
	res, err := catalog.Write(ctx, tree.ArtifactsDir, catalog.Options{Namespace: site.Namespace, BaseURL: envvar.CatalogBaseURL.Get(os.Getenv)})
	for _, r := range res {
		say("catalog: %s: %d box(es), %s", r.Path, r.Boxes, map[bool]string{true: "written", false: "up to date"}[r.Written])
	}
	if err == nil && len(res) == 0 {
		say("catalog: no Vagrant box under %s/, nothing written", tree.ArtifactsDir)
	}
	return err
}
