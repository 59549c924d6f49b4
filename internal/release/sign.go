// Package release signs the provider folders of a release and checks them
// end to end: the provenance beside each artifact (before SHA256SUM, which
// covers it), SHA256SUM.asc after it, and for a folder or an image
// reference, one line per artifact saying what holds.
package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gold-standard-images/internal/atomicfile"
	"gold-standard-images/internal/buildrecord"
	"gold-standard-images/internal/checksum"
	"gold-standard-images/internal/hashfile"
	"gold-standard-images/internal/provenance"
	"gold-standard-images/internal/sbom"
	"gold-standard-images/internal/sign"
	"gold-standard-images/internal/tree"
)

// Subject reports whether a file of a provider folder gets provenance: an
// artifact, not a record (manifest.json, the SBOM), a provenance file or
// the checksum file and its signature.
func Subject(name string) bool {
	switch name {
	case buildrecord.FileName, sbom.FileName, checksum.FileName, checksum.SignatureFile:
		return false
	}
	return !strings.HasSuffix(name, tree.ProvenanceSuffix) && !tree.Hidden(name)
}

// Folders lists the distinct folders of arts (a build's artifacts).
func Folders(arts []tree.Artifact) []string {
	seen := map[string]bool{}
	var dirs []string
	for _, a := range arts {
		if d := filepath.Dir(a.Path); !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs)
	return dirs
}

// WriteProvenance writes the provenance of every artifact in each of dirs
// (provider folders with a manifest.json) when keys hold a cosign key; a
// folder without manifest.json is skipped and said. It runs before the
// checksums. Digests come from manifest.json where the file has not
// changed since, else the file is hashed.
func WriteProvenance(ctx context.Context, dirs []string, keys sign.Keys, builder string, log io.Writer) error {
	if keys.Cosign == nil {
		return nil
	}
	var problems []error
	for _, dir := range dirs {
		recPath := filepath.Join(dir, buildrecord.FileName)
		rec, err := buildrecord.Read(recPath)
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(log, "   %s: no %s, so no provenance\n", dir, buildrecord.FileName)
			continue
		}
		if err != nil {
			problems = append(problems, err)
			continue
		}
		arts, err := subjects(ctx, dir, rec, recPath)
		if err == nil {
			var wrote []string
			wrote, err = provenance.WriteFolder(dir, arts, keys.Cosign, builder)
			fmt.Fprintf(log, "   %s: provenance of %d artifact(s)\n", dir, len(wrote))
		}
		if err != nil {
			problems = append(problems, err)
		}
	}
	return errors.Join(problems...)
}

// subjects lists the artifacts of dir with their sha256: the record's when
// the file has its size and is not newer than the record, else hashed.
func subjects(ctx context.Context, dir string, rec buildrecord.Record, recPath string) ([]provenance.Artifact, error) {
	recInfo, err := os.Stat(recPath)
	if err != nil {
		return nil, err
	}
	listed := map[string]buildrecord.File{}
	for _, f := range rec.Artifacts {
		listed[f.Name] = f
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing %q: %w", dir, err)
	}
	var out []provenance.Artifact
	for _, e := range entries {
		if !e.Type().IsRegular() || !Subject(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		f, ok := listed[e.Name()]
		sum := f.SHA256
		if !ok || f.Size != info.Size() || info.ModTime().After(recInfo.ModTime()) || sum == "" {
			if sum, err = hashfile.File(ctx, path); err != nil {
				return nil, err
			}
		}
		out = append(out, provenance.Artifact{Path: path, SHA256: sum})
	}
	return out, nil
}

// SignChecksums writes SHA256SUM.asc beside the SHA256SUM of each of dirs
// when keys hold an OpenPGP private key. A signature that still verifies
// is kept.
func SignChecksums(dirs []string, keys sign.Keys, log io.Writer) error {
	if keys.PGP == nil || !keys.PGP.Private() {
		return nil
	}
	var problems []error
	for _, dir := range dirs {
		sumPath := filepath.Join(dir, checksum.FileName)
		data, err := os.ReadFile(sumPath)
		if err != nil {
			problems = append(problems, fmt.Errorf("signing %q: %w", sumPath, err))
			continue
		}
		ascPath := filepath.Join(dir, checksum.SignatureFile)
		if old, err := os.ReadFile(ascPath); err == nil && keys.PGP.Verify(data, old) == nil {
			continue
		}
		sig, err := keys.PGP.Sign(data)
		if err == nil {
			err = atomicfile.WriteFile(ascPath, sig, 0o644)
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("signing %q: %w", sumPath, err))
			continue
		}
		fmt.Fprintf(log, "   %s: signed by OpenPGP key %s\n", ascPath, keys.PGP.Fingerprint())
	}
	return errors.Join(problems...)
}

// CheckSignature checks the SHA256SUM.asc of the folder dir with keys'
// OpenPGP key; nil when keys hold none. artifacts:verify and
// artifacts:assemble refuse a folder for which it fails.
func CheckSignature(dir string, keys sign.Keys) error {
	if keys.PGP == nil {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, checksum.FileName))
	if err != nil {
		return fmt.Errorf("checking the signature of %q: %w", dir, err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, checksum.SignatureFile))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: missing: the folder is not signed (an OpenPGP key is configured)", filepath.Join(dir, checksum.SignatureFile))
	}
	if err != nil {
		return err
	}
	if err := keys.PGP.Verify(data, sig); err != nil {
		return fmt.Errorf("%s: %s changed since it was signed, or the signature did: %w", filepath.Join(dir, checksum.SignatureFile), checksum.FileName, err)
	}
	return nil
}

// WriteTree writes the SHA256SUM of every provider folder under root (the
// artifacts folder) as checksum.WriteTree does, signed with keys: the
// provenance before, the signatures after.
func WriteTree(ctx context.Context, root string, keys sign.Keys, builder string, log io.Writer) ([]checksum.Folder, error) {
	folders, err := tree.Scan(root)
	if err != nil {
		return nil, err
	}
	dirs := make([]string, len(folders))
	for i, f := range folders {
		dirs[i] = f.Dir
	}
	if err := WriteProvenance(ctx, dirs, keys, builder, log); err != nil {
		return nil, err
	}
	written, err := checksum.WriteTree(ctx, root, log)
	if err != nil {
		return written, err
	}
	return written, SignChecksums(dirs, keys, log)
}
