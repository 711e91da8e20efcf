package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// A file whose content this account already stores under another key is
// stored by a server-side copy: a copy the person made, a file restore
// wrote (a restored record); when the source object is gone, it is sent.
func TestBackup_StoresKnownContentByCopy(t *testing.T) {
	ctx := context.Background()
	a, srv, dir := newTestAgent(t, uploader.Config{Device: "laptop", PartSize: 5 << 20, Threshold: 5 << 20, PartsInFlight: 2},
		storage.Backoff{Attempts: 2})
	b := &Backup{Roots: a.Roots, Filter: a.Filter, Keys: a.Keys, Journal: a.Journal, Uploader: a.Uploader, Files: 1, Log: zerolog.Nop()}
	write := func(rel string, content []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, rel), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(what string, uploaded, copied int) {
		t.Helper()
		sum, err := b.Run(ctx)
		if err != nil || len(sum.Failed) != 0 || sum.Uploaded != uploaded || sum.Copied != copied {
			t.Errorf("%s: got %d uploaded, %d copied (%v, %v); want %d, %d", what, sum.Uploaded, sum.Copied, err, sum.Failed, uploaded, copied)
		}
	}
	write("a.jpg", photoBytes)
	run("first backup", 1, 0)

	write("copy of a.jpg", photoBytes) // a new inode, the same bytes
	run("a copy", 0, 1)

	other := append(append([]byte{}, photoBytes...), " restored from the phone"...)
	put(t, srv, "alice/phone/camera/r.jpg", other)
	etag := stat(t, srv, "alice/phone/camera/r.jpg").ETag
	write("r.jpg", other)
	fi, _ := os.Stat(filepath.Join(dir, "r.jpg"))
	if err := a.Journal.AddRestored(ctx, journal.Restored{Path: filepath.Join(dir, "r.jpg"), Identity: journal.IdentityOf(fi),
		SHA256: sha(other), Key: "alice/phone/camera/r.jpg", ETag: etag}); err != nil {
		t.Fatal(err)
	}
	run("a restored file", 0, 1)
	if got := stat(t, srv, "alice/laptop/pictures/r.jpg"); got.Size != int64(len(other)) || got.UserMetadata["Sha256"] != sha(other) || got.UserMetadata["Device"] != "laptop" {
		t.Errorf("copied object: size %d, metadata %v", got.Size, got.UserMetadata)
	}

	gone := append(append([]byte{}, photoBytes...), " whose source is gone"...)
	put(t, srv, "alice/phone/camera/gone.jpg", gone)
	write("gone.jpg", gone)
	fi, _ = os.Stat(filepath.Join(dir, "gone.jpg"))
	a.Journal.AddRestored(ctx, journal.Restored{Path: filepath.Join(dir, "gone.jpg"), Identity: journal.IdentityOf(fi),
		SHA256: sha(gone), Key: "alice/phone/camera/gone.jpg", ETag: "0123"}) // the object changed since
	run("a restored file whose source changed", 1, 0)
}

func put(t *testing.T, srv *miniotest.Server, key string, b []byte) {
	t.Helper()
	if _, err := srv.Client.PutObject(context.Background(), srv.Bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

func stat(t *testing.T, srv *miniotest.Server, key string) minio.ObjectInfo {
	t.Helper()
	info, err := srv.Client.StatObject(context.Background(), srv.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
