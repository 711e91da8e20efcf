package restore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/restore"
)

// A file restored where its key is the object it came from is done in the
// journal; one restored elsewhere is a restored record the backup copies
// from. Both are recorded before the file takes its name.
func TestRecorder_Record(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	j, err := journal.Open(ctx, filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	pictures := filepath.Join(dir, "Pictures")
	rec := &restore.Recorder{Journal: j, Roots: []restore.Root{{Name: "pictures", Path: pictures}},
		Key: func(root, rel string, _ time.Time) string { return "alice/laptop/" + root + "/" + rel }}
	body := "the photo"
	h := sha256.Sum256([]byte(body))
	sum := hex.EncodeToString(h[:])
	st := objects{m: map[string]string{"alice/laptop/pictures/2024/a.jpg": body, "alice/phone/camera/b.jpg": body}}
	items := []restore.Item{
		{Key: "alice/laptop/pictures/2024/a.jpg", Size: 9, SHA256: sum, ETag: "e1", Target: filepath.Join(pictures, "2024", "a.jpg")},
		{Key: "alice/phone/camera/b.jpg", Size: 9, SHA256: sum, ETag: "e2", Target: filepath.Join(pictures, "phone", "b.jpg")},
	}
	var seen []string
	first := true
	o := restore.Options{Storage: st, Log: zerolog.Nop(), Record: func(ctx context.Context, it restore.Item, path string, fi os.FileInfo) error {
		if _, err := os.Stat(path); first && !os.IsNotExist(err) {
			t.Errorf("%s: recorded after it took its name", path)
		}
		seen = append(seen, it.Key)
		return rec.Record(ctx, it, path, fi)
	}}
	if s := restore.Restore(ctx, items, o); s.Restored != 2 || len(s.Failed) > 0 {
		t.Fatalf("restore: got %+v, want 2 restored", s)
	}
	if len(seen) != 2 {
		t.Errorf("recorded %v, want both", seen)
	}
	fi, _ := os.Stat(filepath.Join(pictures, "2024", "a.jpg"))
	if f, need, err := j.Track(ctx, "pictures", "2024/a.jpg", journal.IdentityOf(fi)); err != nil || need || f.Key != items[0].Key || f.ETag != "e1" {
		t.Errorf("restored in place: got %+v need %v err %v; want done at %s", f, need, err, items[0].Key)
	}
	if src, err := j.FindContent(ctx, sum, 9, "alice/", "alice/laptop/pictures/phone/b.jpg"); err != nil || src.Key != items[0].Key {
		t.Errorf("content: got %+v, %v; want the file stored in place first", src, err)
	}
	if src, err := j.FindContent(ctx, sum, 9, "alice/", items[0].Key); err != nil || src != (journal.Source{Key: items[1].Key, ETag: "e2"}) {
		t.Errorf("restored elsewhere: got %+v, %v; want %s", src, err, items[1].Key)
	}

	// Found in place on a second run: recorded again, nothing downloaded.
	seen, first = nil, false
	if s := restore.Restore(ctx, items, o); s.Skipped != 2 || s.Bytes != 0 || len(seen) != 2 {
		t.Errorf("second restore: got %+v, %d recorded; want 2 in place, both recorded", s, len(seen))
	}
}
