// Package provenance writes, beside each artifact, where it came from: an
// in-toto Statement v1 whose subject is the artifact's name and sha256 and
// whose predicate is SLSA Provenance v1, made from the folder's build record
// (manifest.json: OS definition, site settings, ISO, kickstart, templates,
// playbooks, scripts, source commit, Packer and ansible-core), signed with
// the site's cosign key as a DSSE envelope in <artifact>.intoto.jsonl.
// SHA256SUM, written after it, covers it. `cosign verify-blob-attestation
// --key cosign.pub --type slsaprovenance1 --signature <artifact>.intoto.jsonl
// <artifact>` checks it.
package provenance

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/buildrecord"
	"gold-standard-images/internal/plan"
	"gold-standard-images/internal/sign/dsse"
	"gold-standard-images/internal/tree"
)

// The URIs of the formats.
const (
	StatementType  = "https://in-toto.io/Statement/v1"
	PredicateType  = "https://slsa.dev/provenance/v1"
	BuildType      = "urn:gold-standard-images:build-type:image:v1" // docs/provenance.md describes it
	builderPrefix  = "urn:gold-standard-images:builder:"
	recordFileName = buildrecord.FileName
)

// Statement is an in-toto Statement v1 with a SLSA Provenance v1 predicate.
type Statement struct {
	Type          string     `json:"_type"`
	Subject       []Resource `json:"subject"`
	PredicateType string     `json:"predicateType"`
	Predicate     Predicate  `json:"predicate"`
}

// Resource is an in-toto ResourceDescriptor.
type Resource struct {
	Name        string            `json:"name,omitempty"`
	URI         string            `json:"uri,omitempty"`
	Digest      map[string]string `json:"digest,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Predicate is SLSA Provenance v1.
type Predicate struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition is what the build was asked to do and with what.
type BuildDefinition struct {
	BuildType            string         `json:"buildType"`
	ExternalParameters   map[string]any `json:"externalParameters"`
	ResolvedDependencies []Resource     `json:"resolvedDependencies"`
}

// RunDetails is who built it and when.
type RunDetails struct {
	Builder  Builder  `json:"builder"`
	Metadata Metadata `json:"metadata"`
}

// Builder is the build platform.
type Builder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// Metadata are the times of the build.
type Metadata struct {
	StartedOn  time.Time `json:"startedOn"`
	FinishedOn time.Time `json:"finishedOn"`
}

// treeNote says what a tree's sha256 is.
var treeNote = map[string]string{"hash": "sha256 of the folder's file names and contents in name order"}

// Make is the statement of the artifact file name with digest sha256 (hex),
// built from the folder's build record r; builder is BuilderID's.
func Make(name, sha256 string, r buildrecord.Record, builder string) Statement {
	deps := []Resource{
		{Name: "iso", URI: "file:" + r.ISO.Name, Digest: map[string]string{"sha256": r.ISO.SHA256},
			Annotations: map[string]string{"signature_verified": fmt.Sprint(r.ISO.SignatureVerified), "checksum_file": r.ISO.ChecksumFile}},
		{Name: "templates/packer", Digest: map[string]string{"sha256": r.Packer.TemplatesSHA256}, Annotations: treeNote},
		{Name: "packer var-file contract", Digest: map[string]string{"sha256": r.Packer.VarFileContractSHA256}},
		{Name: "ansible", Digest: map[string]string{"sha256": r.Ansible.PlaybooksSHA256}, Annotations: treeNote},
		{Name: "scripts", Digest: map[string]string{"sha256": r.Ansible.ScriptsSHA256}, Annotations: treeNote},
	}
	if r.Kickstart.SHA256 != "" {
		deps = append(deps, Resource{Name: "kickstart " + r.Kickstart.Build, Digest: map[string]string{"sha256": r.Kickstart.SHA256}})
	}
	if r.Source.Commit != buildrecord.Unknown {
		deps = append(deps, Resource{Name: "source", Digest: map[string]string{"gitCommit": r.Source.Commit}, Annotations: map[string]string{"dirty": r.Source.Dirty}})
	}
	return Statement{
		Type:          StatementType,
		Subject:       []Resource{{Name: name, Digest: map[string]string{"sha256": sha256}}},
		PredicateType: PredicateType,
		Predicate: Predicate{
			BuildDefinition: BuildDefinition{
				BuildType: BuildType,
				ExternalParameters: map[string]any{
					"vm_name": r.VMName, "version": r.Version, "provider": r.Provider,
					"os": r.OS, "site": r.Site,
				},
				ResolvedDependencies: deps,
			},
			RunDetails: RunDetails{
				Builder: Builder{ID: builder, Version: map[string]string{"packer": r.Packer.Version, "packer-plugins": "bundled with packer " + r.Packer.Version,
					"ansible-core": r.Ansible.CoreVersion}},
				Metadata: Metadata{StartedOn: r.Started, FinishedOn: r.Finished},
			},
		},
	}
}

// BuilderID names the builder: the CI job of the plan when the job's
// manifest (plan.ManifestFile) is at root, else the host.
func BuilderID(root string) string {
	if data, err := os.ReadFile(filepath.Join(root, plan.ManifestFile)); err == nil {
		var j plan.Job
		if json.Unmarshal(data, &j) == nil && j.ID != "" {
			return builderPrefix + "ci-job:" + j.ID
		}
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return builderPrefix + "host:" + host
}

// Path is where the provenance of the artifact at path goes.
func Path(artifact string) string { return artifact + tree.ProvenanceSuffix }

// Envelope signs s with key as a DSSE envelope, as one line of JSON.
func Envelope(key *ecdsa.PrivateKey, s Statement) ([]byte, error) {
	payload, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("writing the provenance: %w", err)
	}
	env, err := dsse.Sign(key, dsse.InTotoPayloadType, payload)
	if err != nil {
		return nil, fmt.Errorf("signing the provenance: %w", err)
	}
	line, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	return append(line, '\n'), nil
}

// Open checks the envelope data with pub and returns its statement.
func Open(data []byte, pub *ecdsa.PublicKey) (Statement, error) {
	env, err := dsse.Parse(bytes.TrimSpace(data))
	if err != nil {
		return Statement{}, err
	}
	if env.PayloadType != dsse.InTotoPayloadType {
		return Statement{}, fmt.Errorf("reading the provenance: payload type %q, want %q", env.PayloadType, dsse.InTotoPayloadType)
	}
	payload, err := env.Open(pub)
	if err != nil {
		return Statement{}, err
	}
	var s Statement
	if err := json.Unmarshal(payload, &s); err != nil {
		return Statement{}, fmt.Errorf("reading the provenance statement: %w", err)
	}
	if s.Type != StatementType || s.PredicateType != PredicateType || len(s.Subject) == 0 {
		return Statement{}, fmt.Errorf("reading the provenance statement: want %s with a %s predicate and a subject", StatementType, PredicateType)
	}
	return s, nil
}

// Digest is the sha256 the statement's first subject has.
func (s Statement) Digest() string { return s.Subject[0].Digest["sha256"] }

// Artifact is one file of a provider folder that gets provenance.
type Artifact struct {
	Path   string
	SHA256 string
}

// WriteFolder writes the provenance of each artifact of the provider folder
// dir, from its manifest.json, and returns the files it wrote or kept. A
// provenance file that already says the same, signed by key, is kept as it
// is, so a re-run leaves SHA256SUM current.
func WriteFolder(dir string, arts []Artifact, key *ecdsa.PrivateKey, builder string) ([]string, error) {
	rec, err := buildrecord.Read(filepath.Join(dir, recordFileName))
	if err != nil {
		return nil, fmt.Errorf("writing the provenance in %q: %w", dir, err)
	}
	var out []string
	var problems []error
	for _, a := range arts {
		s := Make(filepath.Base(a.Path), a.SHA256, rec, builder)
		p := Path(a.Path)
		if old, err := os.ReadFile(p); err == nil {
			if got, err := Open(old, &key.PublicKey); err == nil && sameStatement(got, s) {
				out = append(out, p)
				continue
			}
		}
		data, err := Envelope(key, s)
		if err == nil {
			err = atomicfile.WriteFile(p, data, 0o644)
		}
		if err == nil {
			// Recorded as made by the build, so that SHA256SUM takes it.
			err = tree.WriteMade(p, sha256Hex(data))
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("writing the provenance %q: %w", p, err))
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(problems...)
}

// sameStatement reports whether a and b say the same but for the build's
// times, which a re-run that rebuilt nothing renews.
func sameStatement(a, b Statement) bool {
	a.Predicate.RunDetails.Metadata, b.Predicate.RunDetails.Metadata = Metadata{}, Metadata{}
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
