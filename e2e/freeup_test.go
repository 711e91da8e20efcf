package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
)

// freeUpWorld is a device whose photos are backed up, then made unsafe to
// free in every way free-up must notice, behind the agent's back.
type freeUpWorld struct {
	*world
	trash string // the home trash (XDG_DATA_HOME/Trash)
	old   time.Time
}

// The files of freeUpWorld and what free-up must do with each.
var (
	freeUpFreed = []string{"2024/a.jpg", "2024/b.jpg", "2024/IMG_0002.HEIC", "2024/IMG_0002.MOV"}
	freeUpKept  = map[string]string{
		"2024/corrupt.jpg":   "remote copy differs",
		"2024/gone.jpg":      "remote copy missing",
		"2024/changed.jpg":   "changed since its backup",
		"2024/pending.jpg":   "not backed up yet",
		"2023/early.jpg":     "left out of the backup",
		"2024/IMG_0001.MOV":  "remote copy missing",
		"2024/IMG_0001.HEIC": "a file of its group is kept",
	}
)

func newFreeUpWorld(t *testing.T) *freeUpWorld {
	t.Helper()
	w := &freeUpWorld{world: newWorld(t), old: time.Date(2024, 2, 1, 12, 0, 0, 0, time.Local)}
	w.top = "settle: 200ms\nmedia:\n  since: 2024-01-01\n"
	w.writeConfig("  give_up_after: 1s\n  request_timeout: 1s\n")
	w.trash = filepath.Join(w.dir, "data", "Trash")
	w.env = append(w.env, "XDG_DATA_HOME="+filepath.Join(w.dir, "data"))
	photo := func(rel, date string, size int) {
		exif := mediatest.EXIF{DateTimeOriginal: date, OffsetTimeOriginal: "+01:00"}
		w.writeMedia(rel, mediatest.JPEG(t, size, size, exif), w.old)
	}
	photo("2024/a.jpg", "2024:02:01 10:00:00", 40)
	photo("2024/b.jpg", "2024:02:02 10:00:00", 41)
	photo("2024/corrupt.jpg", "2024:02:03 10:00:00", 42)
	photo("2024/gone.jpg", "2024:02:04 10:00:00", 43)
	photo("2024/changed.jpg", "2024:02:05 10:00:00", 44)
	photo("2023/early.jpg", "2023:05:01 10:00:00", 45) // before media.since
	photo("recent/new.jpg", time.Now().Format("2006:01:02 15:04:05"), 46)
	for i, id := range []string{"A1", "B2"} {
		rel := fmt.Sprintf("2024/IMG_000%d", i+1)
		w.writeMedia(rel+".HEIC", mediatest.HEIC(t, mediatest.EXIF{DateTimeOriginal: fmt.Sprintf("2024:01:31 14:05:0%d", i), OffsetTimeOriginal: "+09:00"}), w.old)
		w.writeMedia(rel+".MOV", mediatest.MOV(t, mediatest.MOVMeta{Created: time.Date(2024, 1, 31, 5, 5, i, 0, time.UTC),
			CreationDate: fmt.Sprintf("2024-01-31T14:05:0%d+0900", i), ContentID: id}), w.old)
	}
	w.backupOK()

	// Behind the agent's back: other bytes under the same size and
	// metadata; an object deleted; a file changed with its size and mtime
	// kept; a file the storage never got.
	ctx := context.Background()
	key := picturesKey + "2024/corrupt.jpg"
	info, err := w.srv.Client.StatObject(ctx, w.srv.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body := flipMiddle(w.readPhoto("2024/corrupt.jpg"))
	if _, err := w.srv.Client.PutObject(ctx, w.srv.Bucket, key, bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{UserMetadata: info.UserMetadata, ContentType: info.ContentType}); err != nil {
		t.Fatal(err)
	}
	if got := w.objectMeta(key)["Sha256"]; got != info.UserMetadata["Sha256"] || got == "" {
		t.Fatalf("corrupt.jpg's object: sha256 %q, want the original %q", got, info.UserMetadata["Sha256"])
	}
	for _, rel := range []string{"2024/gone.jpg", "2024/IMG_0001.MOV"} {
		if err := w.srv.Client.RemoveObject(ctx, w.srv.Bucket, picturesKey+rel, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	changed := filepath.Join(w.photos, "2024", "changed.jpg")
	if err := os.WriteFile(changed, flipMiddle(w.readPhoto("2024/changed.jpg")), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(changed, w.old, w.old) // same size, mtime and inode: only a fresh hash tells
	w.writeMedia("2024/pending.jpg", mediatest.JPEG(t, 47, 47, mediatest.EXIF{DateTimeOriginal: "2024:02:06 10:00:00"}), w.old)
	w.proxy.BlackHole() // an agent that finds it and cannot reach the storage
	r := w.startAgent()
	w.eventually(20*time.Second, "pending.jpg is tracked", func() bool {
		return w.journalCount(`SELECT count(*) FROM files WHERE path = '2024/pending.jpg' AND state IN ('pending', 'uploading', 'failed')`) == 1
	})
	r.kill()
	w.proxy.EndBlackHole()
	return w
}

func (w *freeUpWorld) readPhoto(rel string) []byte {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.photos, rel))
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func flipMiddle(b []byte) []byte {
	out := slices.Clone(b)
	out[len(out)/2] ^= 0xff
	return out
}

// exists reports whether rel is in the photos folder.
func (w *freeUpWorld) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(w.photos, rel))
	return err == nil
}

// mediaPuts counts the PUT requests that sent a file's bytes (not
// thumbnails, not manifests) since the proxy's last reset, by key.
func (w *freeUpWorld) mediaPuts() map[string]int {
	out := map[string]int{}
	for _, r := range w.proxy.Requests() {
		if r.Method != "PUT" || r.Size == 0 || strings.Contains(r.Target, "/.thumbs/") || strings.Contains(r.Target, "/.cloudkeep/") {
			continue
		}
		key, _, _ := strings.Cut(strings.TrimPrefix(r.Target, "/"+w.srv.Bucket+"/"), "?")
		out[key]++
	}
	return out
}

// checkFreed checks that the files of freeUpFreed are in the trash with
// their .trashinfo, the journal marks them freed, and the rest is where
// it was.
func (w *freeUpWorld) checkFreed() {
	w.t.Helper()
	for _, rel := range freeUpFreed {
		if w.exists(rel) {
			w.t.Errorf("%s is still in the folder; want it in the trash", rel)
		}
		name := filepath.Base(rel)
		info, err := os.ReadFile(filepath.Join(w.trash, "info", name+".trashinfo"))
		if err != nil {
			w.t.Errorf("%s: no .trashinfo: %v", rel, err)
			continue
		}
		want := "[Trash Info]\nPath=" + filepath.Join(w.photos, rel) + "\nDeletionDate=" + time.Now().Format("2006-01-02T")
		if !strings.HasPrefix(string(info), want) {
			w.t.Errorf("%s.trashinfo:\n%s\nwant it to begin with:\n%s", name, info, want)
		}
		if _, err := os.Stat(filepath.Join(w.trash, "files", name)); err != nil {
			w.t.Errorf("%s is not in the trash: %v", rel, err)
		}
	}
	for rel := range freeUpKept {
		if !w.exists(rel) {
			w.t.Errorf("%s was taken away; want it kept", rel)
		}
	}
	if !w.exists("recent/new.jpg") {
		w.t.Errorf("recent/new.jpg, taken today, was taken away")
	}
	if n := w.journalCount(`SELECT count(*) FROM files WHERE state = 'freed' AND freed_ns > 0`); n != len(freeUpFreed) {
		w.t.Errorf("journal: %d freed row(s), want %d", n, len(freeUpFreed))
	}
}

// free-up frees exactly the files whose backup it proves, and keeps each
// unsafe one with its reason; the agent then neither uploads them again
// nor takes them for deleted, and a file put back from the trash is done
// again without an upload.
func TestFreeUp_KeepsUnsafe(t *testing.T) {
	t.Parallel()
	w := newFreeUpWorld(t)

	res := w.run("free-up")
	if res.code != 2 || !strings.Contains(res.stderr, "free-up would move 4 files") || !strings.Contains(res.stderr, "with no terminal to ask on, run it again with --yes") {
		t.Fatalf("free-up with no terminal and no --yes: exit %d, want 2 and a refusal\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	res = w.run("free-up", "--dry-run")
	if res.code != 0 || !strings.Contains(res.stdout, "Dry run: nothing changed.") {
		t.Fatalf("free-up --dry-run: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, rel := range freeUpFreed {
		if !strings.Contains(res.stdout, "  free  "+filepath.Join(w.photos, rel)) {
			t.Errorf("--dry-run does not list %s:\n%s", rel, res.stdout)
		}
		if !w.exists(rel) {
			t.Errorf("--dry-run took %s away", rel)
		}
	}
	if n := w.journalCount(`SELECT count(*) FROM files WHERE state = 'freed'`); n != 0 {
		t.Errorf("--dry-run: %d freed row(s), want 0", n)
	}

	w.proxy.Reset()
	res = w.run("free-up", "--yes", "-v")
	if res.code != 0 {
		t.Fatalf("free-up --yes: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	// The objects cloudkeep stored carry a full-object CRC32C: only the
	// one put behind its back, without one, is read back.
	var gets []string
	for _, r := range w.proxy.Requests() {
		if r.Method == "GET" && !strings.Contains(r.Target, "?location") {
			gets = append(gets, r.Target)
		}
	}
	if len(gets) != 1 || !strings.Contains(gets[0], "corrupt.jpg") {
		t.Errorf("free-up read back %q; want only corrupt.jpg's object", gets)
	}
	t.Logf("free-up --yes -v:\n%s", res.stdout)
	for _, want := range []string{
		"Proven backed up, taken more than 90 days ago: 4 files (",
		"Left alone: 1 file taken in the last 90 days (see --older-than).\n",
		"Kept 7 files: 1 not backed up yet, 1 left out of the backup, 1 changed since its backup, 2 remote copy missing, 1 remote copy differs, 1 a file of its group is kept.",
		"Moved 4 files (",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("free-up says no %q:\n%s", want, res.stdout)
		}
	}
	for rel, why := range freeUpKept {
		if !strings.Contains(res.stdout, "  keep  "+filepath.Join(w.photos, rel)+": "+why) {
			t.Errorf("-v does not say %s is kept because %q:\n%s", rel, why, res.stdout)
		}
	}
	w.checkFreed()
	if res := w.run("status"); !strings.Contains(res.stdout, ", 4 freed") {
		t.Errorf("status does not count the freed files:\n%s", res.stdout)
	}

	// The agent: nothing freed is uploaded again or marked deleted.
	w.proxy.Reset()
	r := w.startAgent()
	w.eventually(20*time.Second, "pending.jpg is stored", func() bool {
		return w.journalCount(`SELECT count(*) FROM files WHERE path = '2024/pending.jpg' AND state = 'done'`) == 1
	})
	time.Sleep(time.Second) // the start's scan and the watcher's settle are long over
	for _, rel := range freeUpFreed {
		if n := w.mediaPuts()[picturesKey+rel]; n > 0 {
			t.Errorf("%s: %d PUT(s) after free-up, want none", rel, n)
		}
	}
	if n := w.journalCount(`SELECT count(*) FROM files WHERE state = 'deleted'`); n != 0 {
		t.Errorf("%d row(s) marked deleted, want none", n)
	}

	// Put back from the trash as a file manager does (a rename, with its
	// .trashinfo removed): done again, no upload.
	back := "2024/a.jpg"
	if err := os.Rename(filepath.Join(w.trash, "files", "a.jpg"), filepath.Join(w.photos, back)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(w.trash, "info", "a.jpg.trashinfo"))
	// And one copied back: a new inode, the same content.
	copied := "2024/b.jpg"
	b, err := os.ReadFile(filepath.Join(w.trash, "files", "b.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	w.writeMedia(copied, b, w.old)
	for _, rel := range []string{back, copied} {
		w.eventually(20*time.Second, rel+" is done again", func() bool {
			return w.journalCount(`SELECT count(*) FROM files WHERE path = '`+rel+`' AND state = 'done'`) == 1
		})
	}
	if puts := w.mediaPuts(); puts[picturesKey+back] > 0 || puts[picturesKey+copied] > 0 {
		t.Errorf("files put back from the trash were uploaded again: %v", puts)
	}

	// free-up while the agent runs: the watcher sees them leave, and they
	// stay freed. pending.jpg is stored by now, and goes too.
	res = w.run("free-up", "--yes", "--older-than", "0", "--folder", filepath.Join(w.photos, "2024"))
	if res.code != 0 || !strings.Contains(res.stdout, "Moved 3 files (") {
		t.Fatalf("free-up with the agent running: exit %d, want 3 files moved\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if w.exists(back) || w.exists(copied) {
		t.Errorf("free-up left %s or %s", back, copied)
	}
	for _, name := range []string{"a.jpg", "b.2.jpg", "pending.jpg"} { // b.jpg's name is still taken
		if _, err := os.Stat(filepath.Join(w.trash, "files", name)); err != nil {
			t.Errorf("%s is not in the trash: %v", name, err)
		}
	}
	time.Sleep(time.Second) // the watcher's events are settled
	if n := w.journalCount(`SELECT count(*) FROM files WHERE state = 'deleted'`); n != 0 {
		t.Errorf("with the agent running, %d row(s) marked deleted, want none", n)
	}
	if n := w.journalCount(`SELECT count(*) FROM files WHERE state = 'freed'`); n != len(freeUpFreed)+1 {
		t.Errorf("%d freed row(s), want %d", n, len(freeUpFreed)+1)
	}
	if code, _ := r.stop(); code != 0 {
		t.Errorf("agent exited %d", code)
	}
	if puts := w.mediaPuts(); len(puts) != 1 || puts[picturesKey+"2024/pending.jpg"] != 1 {
		t.Errorf("PUTs of media while the agent ran: %v, want only pending.jpg's", puts)
	}
	// A rescan at the next start does not mark them deleted either.
	r = w.startAgent()
	time.Sleep(time.Second)
	r.stop()
	if n := w.journalCount(`SELECT count(*) FROM files WHERE state = 'deleted'`); n != 0 {
		t.Errorf("after a restart, %d row(s) marked deleted, want none", n)
	}
	if res := w.run("status"); !strings.Contains(res.stdout, ", 5 freed") {
		t.Errorf("status does not count the freed files:\n%s", res.stdout)
	}
}

// --delete deletes the proven files instead: nothing goes to the trash.
// A folder outside the watched ones, or a bad age, is refused.
func TestFreeUp_Delete(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	data := filepath.Join(w.dir, "data")
	w.env = append(w.env, "XDG_DATA_HOME="+data)
	now := time.Now()
	w.writeMedia("today.jpg", mediatest.JPEG(t, 30, 30, mediatest.EXIF{DateTimeOriginal: now.Format("2006:01:02 15:04:05")}), now)
	w.backupOK()

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--folder", w.state}, "--folder " + w.state + ": not inside a watched folder (" + w.photos + ")"},
		{[]string{"--older-than", "3 months"}, `--older-than "3 months": not an age (use e.g. 90d, 2w, 12h, or 0 for any age)`},
	} {
		res := w.run(append([]string{"free-up", "--yes"}, tc.args...)...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("free-up %v: exit %d, want 2 and %q\n%s", tc.args, res.code, tc.want, res.stderr)
		}
	}
	res := w.run("free-up", "--yes", "--delete")
	if res.code != 0 || !strings.Contains(res.stdout, "Left alone: 1 file taken in the last 90 days (see --older-than).\nNothing to free.") {
		t.Errorf("free-up of a photo taken today: exit %d, want it kept by the 90-day default\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	res = w.run("free-up", "--yes", "--delete", "--older-than", "0")
	if res.code != 0 || !strings.Contains(res.stdout, "Deleted 1 file (") {
		t.Fatalf("free-up --delete: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(w.photos, "today.jpg")); !os.IsNotExist(err) {
		t.Errorf("today.jpg is still there (stat: %v)", err)
	}
	if _, err := os.Stat(filepath.Join(data, "Trash")); !os.IsNotExist(err) {
		t.Errorf("--delete made a trash (stat: %v)", err)
	}
	if n := w.journalCount(`SELECT count(*) FROM files WHERE state = 'freed'`); n != 1 {
		t.Errorf("%d freed row(s), want 1", n)
	}
	if res := w.run("backup"); res.code != 0 || w.journalCount(`SELECT count(*) FROM files WHERE state = 'deleted'`) != 0 {
		t.Errorf("a backup after free-up: exit %d, or a row marked deleted\n%s", res.code, res.stderr)
	}
}
