package tree

// This file is the typed list of files a build produces, which the later
// steps (checksums, catalog, uploads) read instead of globbing again.

// Kind says what an artifact is.
type Kind string

// The kinds of artifact.
const (
	Disk     Kind = "disk"     // the image a platform imports (OVA, VHD, qcow2, tar.gz)
	Box      Kind = "box"      // a Vagrant box
	Checksum Kind = "checksum" // a SHA256SUM file
	Record   Kind = "record"   // what is known of the build: manifest.json, the SBOM
)

// Artifact is one produced file.
type Artifact struct {
	Provider string // provider folder it belongs to, e.g. "gcp"
	Kind     Kind
	Path     string // path relative to the repository root
	SHA256   string // hex digest, empty until computed
}

// ProvenanceSuffix ends the name of an artifact's provenance, the signed
// in-toto statement beside it (internal/provenance): <artifact>.intoto.jsonl.
const ProvenanceSuffix = ".intoto.jsonl"
