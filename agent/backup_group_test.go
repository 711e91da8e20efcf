package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// A RAW walked before its JPEG, with one upload at a time, is held back
// until the JPEG is stored and lies beside it, suffix included; each file
// is counted once.
func TestBackup_HeldMemberFollowsSuffixedMain(t *testing.T) {
	a, srv, dir := newTestAgent(t, uploader.Config{Device: "laptop", PartSize: 5 << 20, Threshold: 5 << 20, PartsInFlight: 2},
		storage.Backoff{Attempts: 2})
	a.Keys.Template = "{user}/{year}/{month}/{name}"
	exif := mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+01:00"}
	theirs := mediatest.JPEG(t, 48, 48, exif)
	if _, err := srv.Client.PutObject(context.Background(), srv.Bucket, "alice/2024/01/DSC_0001.JPG", bytes.NewReader(theirs),
		int64(len(theirs)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	jpg := mediatest.JPEG(t, 64, 48, exif)
	mediatest.Write(t, filepath.Join(dir, "DSC_0001.DNG"), mediatest.DNG(t, exif, 64, 48), old)
	mediatest.Write(t, filepath.Join(dir, "DSC_0001.JPG"), jpg, old)
	b := &Backup{Roots: a.Roots, Filter: a.Filter, Keys: a.Keys, Journal: a.Journal, Uploader: a.Uploader, Files: 1, Log: zerolog.Nop()}
	sum, err := b.Run(context.Background())
	if err != nil || sum.Uploaded != 2 || sum.Scanned != 2 || len(sum.Failed) != 0 {
		t.Fatalf("backup: %+v, %v; want 2 scanned, 2 uploaded", sum, err)
	}
	h := sha256.Sum256(jpg)
	k := "alice/2024/01/DSC_0001~" + hex.EncodeToString(h[:])[:8]
	for _, key := range []string{k + ".JPG", k + ".DNG"} {
		stat(t, srv, key)
	}
	if _, err := srv.Client.StatObject(context.Background(), srv.Bucket, "alice/2024/01/DSC_0001.DNG", minio.StatObjectOptions{}); err == nil {
		t.Error("the RAW lies beside the other device's JPEG: alice/2024/01/DSC_0001.DNG exists")
	}
}

// A member whose main photo is on disk but never stored (media.kinds
// leaves photos out) is held back, then sent after the pass, keyed from
// the template: the pass ends at once, without waiting out photoWait, and
// counts it once.
func TestBackup_HeldMemberOfUnstoredMainIsSent(t *testing.T) {
	a, srv, dir := newTestAgent(t, uploader.Config{Device: "laptop", PartSize: 5 << 20, Threshold: 5 << 20, PartsInFlight: 2},
		storage.Backoff{Attempts: 2})
	old := time.Now().Add(-time.Hour)
	mediatest.Write(t, filepath.Join(dir, "IMG_0001.JPG"), mediatest.JPEG(t, 64, 48, mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00"}), old)
	mediatest.Write(t, filepath.Join(dir, "IMG_0001.MOV"), mediatest.MOV(t, mediatest.MOVMeta{Created: time.Date(2024, 1, 31, 13, 5, 0, 0, time.UTC)}), old)
	b := &Backup{Roots: a.Roots, Filter: &media.Filter{Kinds: []media.Kind{media.Video}}, Keys: a.Keys, Journal: a.Journal,
		Uploader: a.Uploader, Files: 2, Log: zerolog.Nop()}
	start := time.Now()
	sum, err := b.Run(context.Background())
	if err != nil || sum.Uploaded != 1 || sum.Scanned != 1 || len(sum.Failed) != 0 {
		t.Fatalf("backup: %+v, %v; want 1 scanned, 1 uploaded", sum, err)
	}
	if took := time.Since(start); took > photoWait/2 {
		t.Errorf("backup took %s: the video waited for a photo that is never stored", took)
	}
	stat(t, srv, "alice/laptop/pictures/IMG_0001.MOV")
}
