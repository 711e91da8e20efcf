package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
)

// selPhoto writes a real JPEG at rel under the watched folder, made unlike
// every other by its camera model and its EXIF capture time (taken, in
// EXIF form, "" for none), with mtime (zero: now). It returns the file's
// hex SHA-256.
func (w *world) selPhoto(rel, taken string, mtime time.Time) string {
	w.t.Helper()
	path := filepath.Join(w.photos, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		w.t.Fatal(err)
	}
	b := mediatest.JPEG(w.t, 64, 48, mediatest.EXIF{Make: "cloudkeep", Model: rel, DateTimeOriginal: taken})
	mediatest.Write(w.t, path, b, mtime)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// originals returns the originals in the bucket (thumbnails left out), by key
// with their sha256 metadata.
func (w *world) originals() map[string]string {
	w.t.Helper()
	out := map[string]string{}
	for k, v := range w.objects() {
		if !strings.Contains(k, "/.thumbs/") {
			out[k] = v
		}
	}
	return out
}

// hasThumbOf reports whether the bucket holds a thumbnail of the content
// with that SHA-256.
func (w *world) hasThumbOf(sum string) bool {
	for k := range w.sizes() {
		if strings.HasSuffix(k, "/.thumbs/"+sum+".jpg") {
			return true
		}
	}
	return false
}

const picturesKey = "alice/laptop/pictures/"

// logsWith counts the JSON log lines that have every field of want with
// that string value.
func logsWith(log string, want map[string]string) int {
	n := 0
	for line := range strings.Lines(log) {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		match := true
		for k, v := range want {
			if s, _ := e[k].(string); s != v {
				match = false
			}
		}
		if match {
			n++
		}
	}
	return n
}

// folderLog is the log line of a folder skipped or backed up again.
func folderLog(path, msg string) map[string]string {
	return map[string]string{"level": "info", "root": "pictures", "path": path, "message": msg}
}

// A folder holding .nomedia or .nobackup (any case) is not backed up, nor
// anything below it, from the first scan on; a marker created while the
// agent runs stops new files there at once, and removing it backs the
// folder's files up at once. Files already stored stay stored.
func TestSelection_FolderMarkers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.top = "settle: 300ms\n"
	w.writeConfig("")
	camera := w.selPhoto("DCIM/Camera/IMG_20240131_101112.jpg", "", time.Time{})
	chat := w.selPhoto("WhatsApp/Media/WhatsApp Images/IMG-20240131-WA0001.jpg", "", time.Time{})
	os.WriteFile(filepath.Join(w.photos, "WhatsApp/Media/WhatsApp Images/.nomedia"), nil, 0o644)
	w.selPhoto("Private/IMG_0001.jpg", "", time.Time{})
	w.selPhoto("Private/2023/IMG_0002.jpg", "", time.Time{})
	os.WriteFile(filepath.Join(w.photos, "Private/.NoBackup"), nil, 0o644)
	kept := w.selPhoto("Album/IMG_0003.jpg", "", time.Time{})

	r := w.startAgent()
	w.eventually(30*time.Second, "the camera and album photos are stored", func() bool {
		s := w.originals()
		return s[picturesKey+"DCIM/Camera/IMG_20240131_101112.jpg"] == camera && s[picturesKey+"Album/IMG_0003.jpg"] == kept
	})
	for _, want := range []map[string]string{
		folderLog("WhatsApp/Media/WhatsApp Images", "folder skipped: holds .nomedia"),
		folderLog("Private", "folder skipped: holds .NoBackup"),
	} {
		if n := logsWith(r.logs.String(), want); n != 1 {
			t.Errorf("agent log has %d lines %v, want 1", n, want)
		}
	}

	// .nobackup created live in a folder already backed up: its stored
	// photo stays, a new one is not uploaded.
	if err := os.WriteFile(filepath.Join(w.photos, "Album", ".nobackup"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w.eventually(10*time.Second, "the agent logs the skipped album", func() bool {
		return logsWith(r.logs.String(), folderLog("Album", "folder skipped: holds .nobackup")) == 1
	})
	w.selPhoto("Album/IMG_0004.jpg", "", time.Time{})
	later := w.selPhoto("DCIM/Camera/IMG_20240131_101113.jpg", "", time.Time{})
	w.eventually(30*time.Second, "a camera photo written after it is stored", func() bool {
		return w.originals()[picturesKey+"DCIM/Camera/IMG_20240131_101113.jpg"] == later
	})
	time.Sleep(time.Second) // settle (300ms) and upload of anything let through
	s := w.originals()
	if _, ok := s[picturesKey+"Album/IMG_0004.jpg"]; ok {
		t.Error("Album/IMG_0004.jpg was uploaded although Album holds .nobackup")
	}
	if s[picturesKey+"Album/IMG_0003.jpg"] != kept {
		t.Error("Album/IMG_0003.jpg, stored before .nobackup was created, is gone from the bucket")
	}

	// Removed: the album's new photo goes at once, not at the hourly rescan.
	os.Remove(filepath.Join(w.photos, "Album", ".nobackup"))
	w.eventually(20*time.Second, "Album/IMG_0004.jpg is stored once .nobackup is gone", func() bool {
		_, ok := w.originals()[picturesKey+"Album/IMG_0004.jpg"]
		return ok
	})
	if logsWith(r.logs.String(), folderLog("Album", "folder backed up again: .nobackup removed")) != 1 {
		t.Error("agent log does not say the album is backed up again")
	}

	want := []string{
		picturesKey + "Album/IMG_0003.jpg", picturesKey + "Album/IMG_0004.jpg",
		picturesKey + "DCIM/Camera/IMG_20240131_101112.jpg", picturesKey + "DCIM/Camera/IMG_20240131_101113.jpg",
	}
	if got := keys(w.originals()); !slices.Equal(got, want) {
		t.Errorf("bucket holds %q, want %q", got, want)
	}
	if n := logsWith(r.logs.String(), map[string]string{"message": "uploaded", "key": picturesKey + "Album/IMG_0003.jpg"}); n != 1 {
		t.Errorf("Album/IMG_0003.jpg uploaded %d times, want once: taking .nobackup away must not send it again", n)
	}
	if w.hasThumbOf(chat) {
		t.Error("the bucket holds a thumbnail of a photo in a .nomedia folder")
	}
	if code, _ := r.stop(); code != 0 {
		t.Errorf("agent exited %d", code)
	}
}

// Each exclude preset leaves out what its app or system writes, and the
// log names the preset; a camera's photos are stored.
func TestSelection_ExcludePresets(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.top = "media:\n  exclude_presets: [screenshots, whatsapp, telegram, downloads]\n"
	w.writeConfig("")
	want := map[string]string{
		picturesKey + "DCIM/Camera/IMG_20240131_101112.jpg":    w.selPhoto("DCIM/Camera/IMG_20240131_101112.jpg", "", time.Time{}),
		picturesKey + "DCIM/Camera/PXL_20240131_101112345.jpg": w.selPhoto("DCIM/Camera/PXL_20240131_101112345.jpg", "", time.Time{}),
		picturesKey + "Pictures/Holiday/IMG_0001.jpg":          w.selPhoto("Pictures/Holiday/IMG_0001.jpg", "", time.Time{}),
	}
	left := map[string]string{ // path → the preset that leaves it out
		"Pictures/Screenshots/Screenshot_20240131-101112.jpg":                                    "screenshots",
		"DCIM/Screenshots/Screenshot_20240131-101112_Chrome.jpg":                                 "screenshots",
		"WhatsApp/Media/WhatsApp Images/IMG-20240131-WA0001.jpg":                                 "whatsapp",
		"Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Images/Sent/IMG-20240131-WA0002.jpg": "whatsapp",
		"DCIM/Camera/IMG-20240131-WA0003.jpg":                                                    "whatsapp",
		"Telegram/Telegram Images/412345678_121212.jpg":                                          "telegram",
		"Android/media/org.telegram.messenger/Telegram/Telegram Images/5_6089.jpg":               "telegram",
		"Download/IMG_20240101_000000.jpg":                                                       "downloads",
	}
	for rel := range left {
		w.selPhoto(rel, "", time.Time{})
	}
	res := w.run("backup", "--log-level", "debug", "--log-format", "json")
	if res.code != 0 {
		t.Fatalf("backup exited %d:\n%s", res.code, res.stderr)
	}
	got := w.originals()
	if !slices.Equal(keys(got), keys(want)) {
		t.Errorf("bucket holds %q, want %q", keys(got), keys(want))
	}
	for k, sum := range want {
		if got[k] != sum {
			t.Errorf("%s: sha256 %q, want %q", k, got[k], sum)
		}
	}
	for rel, preset := range left {
		want := map[string]string{"path": rel, "reason": "excluded by preset " + preset}
		if n := logsWith(res.stderr, want); n != 1 {
			t.Errorf("log has %d lines %v, want 1", n, want)
		}
	}
}

// media.since leaves out photos taken before the day, by their capture
// time: EXIF first, the file's mtime when there is no date in it.
func TestSelection_Since(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.top = "media:\n  since: 2024-01-01\n"
	w.writeConfig("")
	old := time.Date(2023, 6, 1, 12, 0, 0, 0, time.Local)
	want := map[string]string{
		picturesKey + "new-exif.jpg":  w.selPhoto("new-exif.jpg", "2024:03:01 10:00:00", old), // EXIF wins over an old mtime
		picturesKey + "new-mtime.jpg": w.selPhoto("new-mtime.jpg", "", time.Time{}),
		picturesKey + "first-day.jpg": w.selPhoto("first-day.jpg", "2024:01:01 00:00:00", old),
	}
	w.selPhoto("old-exif.jpg", "2023:12:31 23:59:59", time.Time{}) // EXIF wins over a new mtime
	w.selPhoto("old-mtime.jpg", "", old)
	res := w.run("backup", "--log-level", "debug", "--log-format", "json")
	if res.code != 0 {
		t.Fatalf("backup exited %d:\n%s", res.code, res.stderr)
	}
	got := w.originals()
	if !slices.Equal(keys(got), keys(want)) {
		t.Errorf("bucket holds %q, want %q", keys(got), keys(want))
	}
	for k, sum := range want {
		if got[k] != sum {
			t.Errorf("%s: sha256 %q, want %q", k, got[k], sum)
		}
	}
}
