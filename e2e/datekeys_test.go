package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
)

// writeMedia writes a real photo at rel inside the world's folder, with mtime,
// and returns the hex SHA-256 of its bytes.
func (w *world) writeMedia(rel string, b []byte, mtime time.Time) string {
	w.t.Helper()
	path := filepath.Join(w.photos, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		w.t.Fatal(err)
	}
	mediatest.Write(w.t, path, b, mtime)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// objectMeta returns the user metadata of the object at key.
func (w *world) objectMeta(key string) map[string]string {
	w.t.Helper()
	info, err := w.srv.Client.StatObject(context.Background(), w.srv.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		w.t.Fatalf("stat %s: %v", key, err)
	}
	return info.UserMetadata
}

// backedUp is objects without the thumbnails.
func (w *world) backedUp() map[string]string {
	w.t.Helper()
	out := w.objects()
	for k := range out {
		if strings.Contains(k, "/.thumbs/") {
			delete(out, k)
		}
	}
	return out
}

func (w *world) backupOK() result {
	w.t.Helper()
	res := w.run("backup", "--log-level", "debug", "--log-format", "json")
	if res.code != 0 {
		w.t.Fatalf("backup: %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	return res
}

// Keys by capture time: from EXIF with its offset (the day it was there,
// not here), else from the mtime. Two different photos of one name and
// month from two folders never share a key: the second gets a suffix of
// its hash. The same bytes twice get one key. A lost journal gives the
// same keys again, and a changed photo replaces its own object.
func TestDateKeys_CaptureAndCollision(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.writeConfig("  key_template: \"{user}/{year}/{month}/{name}\"\n")
	old := time.Date(2020, 3, 3, 12, 0, 0, 0, time.Local)
	// 01:30 on 1 February in Tokyo is still 31 January in UTC: the key
	// takes the day it was where it was taken.
	trip := w.writeMedia("trip/IMG_0001.JPG", mediatest.JPEG(t, 64, 48, mediatest.EXIF{DateTimeOriginal: "2024:02:01 01:30:00", OffsetTimeOriginal: "+09:00", Make: "Apple"}), old)
	noDate := w.writeMedia("scans/scan.png", mediatest.PNG(t, 32, 32), time.Date(2023, 6, 15, 12, 0, 0, 0, time.Local))
	w.backupOK()

	const k = "alice/2024/02/IMG_0001.JPG"
	want := map[string]string{k: trip, "alice/2023/06/scan.png": noDate}
	if got := w.backedUp(); !sameMap(got, want) {
		t.Fatalf("bucket after the first backup: %v, want %v", got, want)
	}
	m := w.objectMeta(k)
	if m["Capture-Time"] != "2024-02-01T01:30:00+09:00" || m["Capture-Source"] != "exif" || len(m["Group"]) != 16 {
		t.Errorf("metadata of %s: %v, want capture 2024-02-01T01:30:00+09:00 from exif and a group", k, m)
	}
	if m := w.objectMeta("alice/2023/06/scan.png"); m["Capture-Source"] != "mtime" || !strings.HasPrefix(m["Capture-Time"], "2023-06-15T12:00:00") {
		t.Errorf("metadata of the scan: %v, want its mtime as capture time", m)
	}

	// Another IMG_0001.JPG of the same month, and a copy of the first.
	other := w.writeMedia("other/IMG_0001.JPG", mediatest.JPEG(t, 80, 60, mediatest.EXIF{DateTimeOriginal: "2024:02:10 10:00:00"}), old)
	w.writeMedia("copy/IMG_0001.JPG", readFile(t, filepath.Join(w.photos, "trip/IMG_0001.JPG")), old)
	w.backupOK()
	suffixed := "alice/2024/02/IMG_0001~" + other[:8] + ".JPG"
	want[suffixed] = other
	if got := w.backedUp(); !sameMap(got, want) {
		t.Fatalf("bucket after the second backup: %v, want %v", got, want)
	}
	if got := w.contentSHA256(k); got != trip {
		t.Errorf("%s holds %s, want the first photo %s (never overwritten)", k, got, trip)
	}

	// A lost journal: the same keys, nothing new.
	if err := os.Remove(filepath.Join(w.state, "journal.db")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(w.state, "journal.db-wal"))
	os.Remove(filepath.Join(w.state, "journal.db-shm"))
	w.backupOK()
	if got := w.backedUp(); !sameMap(got, want) {
		t.Fatalf("bucket after a backup with a lost journal: %v, want %v", got, want)
	}

	// A changed scan (same day) replaces its own object.
	changed := w.writeMedia("scans/scan.png", mediatest.PNG(t, 48, 48), time.Date(2023, 6, 15, 13, 0, 0, 0, time.Local))
	w.backupOK()
	want["alice/2023/06/scan.png"] = changed
	if got := w.backedUp(); !sameMap(got, want) {
		t.Fatalf("bucket after the scan changed: %v, want %v", got, want)
	}
}

// media.since: a photo taken before it is not uploaded, and the journal
// and the status say why; moving media.since back uploads it.
func TestDateKeys_MediaSince(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.writeConfig("  key_template: \"{user}/{year}/{month}/{name}\"\n")
	w.top = "settle: 200ms\nmedia:\n  since: 2024-01-01\n"
	w.writeConfig("  key_template: \"{user}/{year}/{month}/{name}\"\n")
	now := time.Now()
	oldSum := w.writeMedia("old.jpg", mediatest.JPEG(t, 32, 32, mediatest.EXIF{DateTimeOriginal: "2019:05:01 10:00:00"}), now)
	newSum := w.writeMedia("new.jpg", mediatest.JPEG(t, 40, 32, mediatest.EXIF{DateTimeOriginal: "2024:03:01 10:00:00"}), now)
	r := w.startAgent()
	w.eventually(20*time.Second, "new.jpg is stored and old.jpg skipped", func() bool {
		s, ok := r.status()
		return ok && w.backedUp()["alice/2024/03/new.jpg"] == newSum && s.Totals.Skipped == 1
	})
	if got := w.backedUp(); len(got) != 1 {
		t.Errorf("bucket: %v, want only new.jpg", got)
	}
	const reason = "captured 2019-05-01, before media.since 2024-01-01"
	if n := w.journalCount(`SELECT count(*) FROM files WHERE path = 'old.jpg' AND state = 'skipped' AND last_error = '` + reason + `'`); n != 1 {
		t.Errorf("journal: %d skipped row(s) for old.jpg with the reason, want 1", n)
	}
	if s, _ := r.status(); s.Totals.Failed != 0 || s.Totals.Uploaded != 1 {
		t.Errorf("status totals: %+v, want 1 uploaded, 1 skipped, none failed", s.Totals)
	}
	if res := w.run("status"); !strings.Contains(res.stdout, "1 skipped") {
		t.Errorf("status: %q, want it to count 1 skipped", res.stdout)
	}
	r.stop()
	if res := w.run("status"); !strings.Contains(res.stdout, "1 skipped") {
		t.Errorf("status of a stopped agent: %q, want the journal's 1 skipped", res.stdout)
	}

	w.top = "settle: 200ms\nmedia:\n  since: 2019-01-01\n"
	w.writeConfig("  key_template: \"{user}/{year}/{month}/{name}\"\n")
	w.startAgent()
	w.eventually(20*time.Second, "old.jpg is stored once media.since moved back", func() bool {
		return w.backedUp()["alice/2019/05/old.jpg"] == oldSum
	})
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
