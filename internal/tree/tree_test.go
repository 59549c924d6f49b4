package tree

import (
	"path/filepath"
	"testing"
)

func TestABuildsPathsFollowTheDocumentedTree(t *testing.T) {
	b := Build{Version: "1.0.0", VMName: "CentOS-7.9.2009"}
	for _, tc := range []struct{ name, got, want string }{
		{"BaseName", b.BaseName("gcp"), "CentOS-7.9.2009-1.0.0_gcp"},
		{"ArtifactName", b.ArtifactName("gcp", "tar.gz"), "CentOS-7.9.2009-1.0.0_gcp.tar.gz"},
		{"ArtifactDir", b.ArtifactDir("gcp"), "artifacts/1.0.0/CentOS-7.9.2009/gcp"},
		{"Artifact", b.Artifact("aws", "ova"), "artifacts/1.0.0/CentOS-7.9.2009/aws/CentOS-7.9.2009-1.0.0_aws.ova"},
		{"PackerOutputRoot", b.PackerOutputRoot(), ".cache/packer-output/1.0.0/CentOS-7.9.2009"},
		{"PackerOutput", b.PackerOutput("vmware"), ".cache/packer-output/1.0.0/CentOS-7.9.2009/vmware"},
		{"VarFile", b.VarFile("gcp"), ".cache/packer-vars/1.0.0/CentOS-7.9.2009/gcp.json"},
		{"Stamp", b.Stamp("gcp"), ".cache/stamps/1.0.0/CentOS-7.9.2009/gcp.json"},
		{"Log", b.Log("gcp"), "logs/1.0.0/CentOS-7.9.2009/gcp.log"},
		{"CatalogFile", CatalogFile("artifacts", "CentOS-7.9.2009"), "artifacts/CentOS-7.9.2009.json"},
		{"Folder.Build", Folder{Version: "1.0.0", VMName: "CentOS-7.9.2009", Provider: "gcp"}.Build().ArtifactDir("gcp"), "artifacts/1.0.0/CentOS-7.9.2009/gcp"},
	} {
		if tc.got != filepath.FromSlash(tc.want) {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestTheISOCacheIsIsosUnlessISOCacheNamesAnother(t *testing.T) {
	for _, tc := range []struct{ name, env, want string }{
		{"unset", "", "/repo/isos"},
		{"relative", "cache/isos", "/repo/cache/isos"},
		{"absolute", "/srv/isos", "/srv/isos"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ISOCache("/repo", func(k string) string {
				if k == "ISO_CACHE" {
					return tc.env
				}
				return ""
			})
			if got != tc.want {
				t.Errorf("ISOCache = %q, want %q", got, tc.want)
			}
		})
	}
}
