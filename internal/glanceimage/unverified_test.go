package glanceimage

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"gold-standard-images/internal/diskcheck/disktest"
	"gold-standard-images/internal/uploadtest"
)

// TestAnUnverifiedArtifactIsRefusedAndGlanceGetsNothing: a link to a file
// outside the tree, a qcow2 changed since its SHA256SUM was written, one
// without SHA256SUM, and a qcow2 whose backing file is a host file are
// refused, naming it, and the real Glance holds no image afterwards.
func TestAnUnverifiedArtifactIsRefusedAndGlanceGetsNothing(t *testing.T) {
	glance := startGlance(t)
	cfg := testConfig(t, "3.0.30", 1, 0) // a version of its own: the tests share one Glance
	s := Settings{Auth: Auth{Type: "none", Endpoint: glance}}
	publish := func() error {
		_, err := Publish(context.Background(), cfg, s, Options{PollInterval: 100 * time.Millisecond})
		return err
	}
	uploadtest.RefusesUnverified(t, cfg, Source(cfg), publish)

	file := filepath.Join(cfg.Root, Source(cfg))
	host := disktest.BackedQcow2(t, file+".backed")
	uploadtest.Replace(t, file+".backed", file)
	disktest.Refused(t, publish(), file, "backing file", host)
	if imgs := listNamed(t, glanceClient(t, glance), ImageName(cfg)); len(imgs) != 0 {
		t.Errorf("Glance holds %d image(s) named %s, want none: %+v", len(imgs), ImageName(cfg), imgs)
	}
}
