package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// versionSizes returns the size of each version of key, oldest first.
func (w *world) versionSizes(key string) []int64 {
	w.t.Helper()
	var sizes []int64
	for o := range w.srv.Client.ListObjects(context.Background(), w.srv.Bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if o.Err != nil {
			w.t.Fatal(o.Err)
		}
		if !o.IsDeleteMarker {
			sizes = append(sizes, o.Size)
		}
	}
	slices.Reverse(sizes) // listed newest first
	return sizes
}

// overwrite writes size seeded bytes after header into the file at rel
// without truncating it first, as a program rewriting a file in place does.
func (w *world) overwrite(rel string, header []byte, size int, seed byte) {
	w.t.Helper()
	b := make([]byte, size)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	copy(b, header)
	f, err := os.OpenFile(filepath.Join(w.photos, rel), os.O_WRONLY, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		w.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		w.t.Fatal(err)
	}
}

// A photo emptied (truncate -s 0), then written again in place: the empty
// file is not media, so the backup keeps the good photo until the new
// content replaces it. No version is ever empty.
func TestHostile_TruncateThenRewrite(t *testing.T) {
	sameOnEveryServer(t, "how files are written on the device")
	w := newWorld(t)
	w.versioned()
	r := w.startAgent()
	const rel, key = "tr.jpg", "alice/laptop/pictures/tr.jpg"
	w.file(rel, jpegHeader(t), 300_000, 1)
	w.eventually(30*time.Second, "the first photo is stored", func() bool { return w.sizes()[key] == 300_000 })
	time.Sleep(1500 * time.Millisecond) // the user's script: wait 1.5 s
	if err := os.Truncate(filepath.Join(w.photos, rel), 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // then 0.5 s, then the rewrite
	w.overwrite(rel, jpegHeader(t), 400_000, 2)
	w.eventually(30*time.Second, "the rewritten photo is stored", func() bool { return w.sizes()[key] == 400_000 })
	time.Sleep(3 * time.Second) // a further upload would be done by now
	r.stop()
	if got, want := w.versionSizes(key), []int64{300_000, 400_000}; !slices.Equal(got, want) {
		t.Errorf("versions of %s: sizes %v, want %v", key, got, want)
	}
}

// `backup` of an empty .jpg stores nothing and succeeds.
func TestHostile_BackupEmptyPhoto(t *testing.T) {
	sameOnEveryServer(t, "how files are written on the device")
	w := newWorld(t)
	w.file("empty.jpg", nil, 0, 1)
	w.file("IMG_ok.jpg", jpegHeader(t), 2000, 2)
	res := w.run("backup")
	if res.code != 0 {
		t.Fatalf("backup exit %d, want 0\n%s", res.code, res.stderr)
	}
	if got, want := keys(w.objects()), []string{"alice/laptop/pictures/IMG_ok.jpg"}; !slices.Equal(got, want) {
		t.Errorf("bucket holds %v, want %v", got, want)
	}
}

// A writer that closes the file and opens it again to append, as loggers,
// recorders and chunked downloads do: the first chunk goes by the lease,
// then the agent waits out the settle period, so the bucket holds at most
// the first chunk and the final content.
func TestHostile_ReopenToAppend(t *testing.T) {
	sameOnEveryServer(t, "how files are written on the device")
	w := newWorld(t)
	w.versioned()
	r := w.startAgent()
	const rel, key = "rec.jpg", "alice/laptop/pictures/rec.jpg"
	ow := w.openWriter(rel, jpegHeader(t), 6)
	ow.append(100_000)
	ow.close()
	first := ow.sum()
	for range 5 {
		time.Sleep(400 * time.Millisecond) // the writer's pace
		f, err := os.OpenFile(filepath.Join(w.photos, rel), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		ow.f = f
		ow.append(100_000)
		ow.close()
	}
	w.eventually(30*time.Second, "the final content is stored", func() bool { return w.objects()[key] == ow.sum() })
	time.Sleep(3 * time.Second) // a further upload would be done by now
	r.stop()
	got := w.versionSums(key)
	t.Logf("%d versions", len(got))
	if len(got) > 2 || got[len(got)-1] != ow.sum() || (len(got) == 2 && got[0] != first) {
		t.Errorf("versions of %s: sha256 %v, want at most the first chunk %s then the final %s", key, got, first, ow.sum())
	}
}

// A writer that keeps the file open and writes steadily for longer than
// 10 × settle, stalls 3 s, then writes more and closes: nothing is
// uploaded during the stall, and the final content once.
func TestHostile_StallAfterLongWrite(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "how files are written on the device")
	w := newWorld(t)
	w.versioned()
	r := w.startAgent()
	const rel, key = "VID_long.mp4", "alice/laptop/pictures/VID_long.mp4"
	ow := w.openWriter(rel, mp4Header, 7)
	for end := time.Now().Add(23 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		ow.append(16 << 10)
	}
	w.holdIdle(key, 3*time.Second)
	ow.append(16 << 10)
	ow.close()
	w.storedOnce(r, ow, key, rel)
}

// On SIGTERM no new upload starts after the "stopping" line: only the files
// in flight (concurrency.files, 4) may still be uploaded, and the queued
// ones stay in the journal for the next start.
func TestHostile_StopStartsNoUpload(t *testing.T) {
	sameOnEveryServer(t, "how files are written on the device")
	w := newWorld(t)
	w.writeConfig("  bandwidth_limit: 64KiB/s\n")
	const files = 2000
	for i := range files {
		w.file(fmt.Sprintf("IMG_%04d.jpg", i), jpegHeader(t), 8<<10, uint64(i))
	}
	r := w.startAgent()
	// Stopped once every file is queued (the scan is done) and uploads have
	// begun: a file the scan had not reached yet is not in the journal, and
	// the next start's scan finds it.
	w.eventually(60*time.Second, "the scan is done and uploads have begun", func() bool {
		logs := r.logs.String()
		return strings.Contains(logs, `"message":"scanned"`) && strings.Count(logs, `"message":"uploaded"`) >= 4
	})
	if code, _ := r.stop(); code != 0 {
		t.Fatalf("agent exit %d, want 0", code)
	}
	logs := r.logs.String()
	i := strings.Index(logs, "stopping: finishing uploads in flight")
	if i < 0 {
		t.Fatal(`no "stopping" line in the log`)
	}
	n := strings.Count(logs[i:], `"message":"uploaded"`)
	t.Logf("%d files uploaded after the stopping line", n)
	if n > 4 {
		t.Errorf("%d files uploaded after the stopping line, want at most the 4 in flight", n)
	}
	stored := len(w.objects())
	if n := w.journalCount(`SELECT count(*) FROM files WHERE state != 'done'`); n != files-stored {
		t.Errorf("journal: %d files not done, want the %d not stored", n, files-stored)
	}
}

// An agent running as another user meets a photo it cannot read; once the
// photo is made readable (chmod 644), it is backed up at once, without
// waiting for the next scan, and the status no longer counts it failed.
func TestHostile_ChmodMakesReadable(t *testing.T) {
	sameOnEveryServer(t, "how files are written on the device")
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run the agent as another user than the files' owner")
	}
	w := newWorld(t)
	w.asUser = &userIDs{uid: 65534, gid: 65534}
	w.writeConfig("")
	r := w.startAgent()
	const rel, key = "IMG_locked.jpg", "alice/laptop/pictures/IMG_locked.jpg"
	// Written outside the folder, unreadable to the agent, then moved in.
	src := filepath.Join(w.dir, rel)
	b := make([]byte, 50_000)
	rand.NewChaCha8([32]byte{9}).Read(b)
	copy(b, jpegHeader(t))
	if err := os.WriteFile(src, b, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(w.photos, rel)
	if err := os.Rename(src, path); err != nil {
		t.Fatal(err)
	}
	w.eventually(30*time.Second, "the agent says it cannot read the photo", func() bool {
		return strings.Contains(r.logs.String(), "permission denied")
	})
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	// Well before the first retry (30 s) and the next scan (an hour).
	w.eventually(15*time.Second, "the photo is stored after its chmod", func() bool { return w.sizes()[key] == 50_000 })
	s, ok := r.status()
	if !ok || s.Totals.Failed != 0 || len(s.Errors) != 0 {
		t.Errorf("status: %d failed, errors %v; want none: the photo is stored", s.Totals.Failed, s.Errors)
	}
	r.stop()
}
