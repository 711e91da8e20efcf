package e2e

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	_ "modernc.org/sqlite"
)

var mp4Header = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")

func jpegHeader(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()[:20] // SOI and JFIF segment: enough to sniff
}

func TestBackup_Tree(t *testing.T) {
	w := newWorld(t)
	jpg := jpegHeader(t)
	want := map[string]string{
		"alice/laptop/pictures/IMG_0001.jpg":           w.file("IMG_0001.jpg", jpg, 300<<10, 1),
		"alice/laptop/pictures/2024/06/IMG_0002.JPG":   w.file("2024/06/IMG_0002.JPG", jpg, 2*MiB, 2),
		"alice/laptop/pictures/2024/06/VID_0003.mp4":   w.file("2024/06/VID_0003.mp4", mp4Header, 12*MiB, 3),
		"alice/laptop/pictures/clip":                   w.file("clip", mp4Header, 100<<10, 4),
		"alice/laptop/pictures/caf\xc3\xa9/%FFbad.jpg": w.file("café/\xffbad.jpg", jpg, 1000, 5),
	}
	w.file("empty.jpg", nil, 0, 0) // empty: nothing to keep
	w.file("IMG_fake.jpg", []byte("this is text, not a photo\n"), 30, 6)
	w.file(".thumbnails/t.jpg", jpg, 1000, 7)
	w.file("VID_0004.mp4.part", mp4Header, 1000, 8)
	w.file("notes.txt", []byte("hello\n"), 6, 9)
	if err := os.Symlink(w.photos, filepath.Join(w.photos, "2024", "loop")); err != nil {
		t.Fatal(err)
	}

	res := w.run("backup")
	if res.code != 0 {
		t.Fatalf("backup exited %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "backed up 5 file(s)") {
		t.Errorf("summary: got %q", res.stdout)
	}
	got := w.objects()
	if strings.Join(keys(got), "\n") != strings.Join(keys(want), "\n") {
		t.Fatalf("bucket keys:\n%s\nwant:\n%s", strings.Join(keys(got), "\n"), strings.Join(keys(want), "\n"))
	}
	for key, sum := range want {
		if got[key] != sum || w.contentSHA256(key) != sum {
			t.Errorf("%s: metadata sha256 %s, want %s", key, got[key], sum)
		}
	}
	if n := w.journalCount(`SELECT count(*) FROM files WHERE state = 'done'`); n != 5 {
		t.Errorf("journal: %d done rows, want 5", n)
	}

	// A second run finds nothing to do and sends nothing.
	w.proxy.Reset()
	res = w.run("backup")
	if res.code != 0 || !strings.Contains(res.stdout, "backed up 0 file(s)") || !strings.Contains(res.stdout, "5 unchanged") {
		t.Errorf("second run: exit %d, %q", res.code, res.stdout)
	}
	if sent := w.proxy.Sent(); sent > 64<<10 {
		t.Errorf("second run sent %d bytes", sent)
	}
}

// The journal is lost: the next run finds every object stored with the
// same sha256 and sends no file again.
func TestBackup_JournalLostUploadsNothing(t *testing.T) {
	w := newWorld(t)
	jpg := jpegHeader(t)
	for i, name := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		w.file(name, jpg, 1*MiB, uint64(i))
	}
	w.file("big.mov", []byte("\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  "), 20*MiB, 9)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("first run exited %d: %s %s", res.code, res.stdout, res.stderr)
	}
	for _, f := range []string{"journal.db", "journal.db-wal", "journal.db-shm"} {
		os.Remove(filepath.Join(w.state, f))
	}
	w.proxy.Reset()
	res := w.run("backup")
	if res.code != 0 || !strings.Contains(res.stdout, "backed up 0 file(s)") || !strings.Contains(res.stdout, "4 already stored") {
		t.Errorf("after losing the journal: exit %d, %q", res.code, res.stdout)
	}
	if sent := w.proxy.Sent(); sent > 64<<10 {
		t.Errorf("after losing the journal the run sent %d bytes, want requests without file bodies", sent)
	}
}

func TestBackup_CrashResume(t *testing.T) {
	w := newWorld(t)
	const size = 200 * MiB
	sum := w.file("movie.mp4", mp4Header, size, 77)
	w.writeConfig("  bandwidth_limit: 40MiB/s\n  concurrency: {files: 1, parts: 2}\n")

	cmd := w.command("backup", "--log-format", "json")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	parts := 0
	for deadline := time.Now().Add(60 * time.Second); parts < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("journal never showed 3 parts; log:\n%s", logs.String())
		}
		parts = w.journalCount(`SELECT count(*) FROM parts`)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	parts = w.journalCount(`SELECT count(*) FROM parts`)
	if parts*5*MiB >= size {
		t.Fatalf("the upload finished before the kill (%d parts)", parts)
	}

	w.proxy.Reset()
	w.writeConfig("") // no bandwidth limit the second time
	res := w.run("backup")
	if res.code != 0 {
		t.Fatalf("second run exited %d: %s %s", res.code, res.stdout, res.stderr)
	}
	remainder := int64(size - parts*5*MiB)
	if sent := w.proxy.Sent(); sent > remainder+5*MiB+256<<10 {
		t.Errorf("second run sent %d bytes, want at most the remainder %d plus one part", sent, remainder)
	} else {
		t.Logf("killed after %d parts; second run sent %d bytes for a remainder of %d", parts, sent, remainder)
	}
	key := "alice/laptop/pictures/movie.mp4"
	if got := w.objects()[key]; got != sum || w.contentSHA256(key) != sum {
		t.Errorf("object %s: metadata %s, want %s", key, got, sum)
	}
	w.assertNoIncomplete()
}

func TestBackup_UnreadableFileIsReported(t *testing.T) {
	w := newWorld(t)
	if os.Geteuid() == 0 {
		w.asUser = &userIDs{uid: 65534, gid: 65534} // root reads through chmod 000
	}
	jpg := jpegHeader(t)
	ok := w.file("ok.jpg", jpg, 1000, 1)
	w.file("locked.jpg", jpg, 1000, 2)
	locked := filepath.Join(w.photos, "locked.jpg")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	res := w.run("backup")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	wantLine := "  failed: " + locked + ": cannot read: open " + locked + ": permission denied"
	if !strings.Contains(res.stdout, wantLine) {
		t.Errorf("summary lacks %q:\n%s", wantLine, res.stdout)
	}
	if !strings.Contains(res.stderr, "cloudkeep: 1 file(s) not backed up") {
		t.Errorf("stderr: %q", res.stderr)
	}
	if got := w.objects()["alice/laptop/pictures/ok.jpg"]; got != ok {
		t.Errorf("the readable file was not uploaded: %q", got)
	}
}

func TestBackup_LogsNoSecrets(t *testing.T) {
	w := newWorld(t)
	w.file("a.jpg", jpegHeader(t), 6*MiB, 1)
	res := w.run("backup", "--log-level", "debug", "--log-format", "json")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, `"message":"uploaded"`) {
		t.Errorf("log lacks the per-file line:\n%s", res.stderr)
	}
	check := w.run("config", "check")
	for _, out := range []string{res.stdout, res.stderr, check.stdout, check.stderr} {
		if strings.Contains(out, w.srv.SecretKey) {
			t.Errorf("output holds the secret key:\n%s", out)
		}
	}
	if !strings.Contains(check.stdout, "secret_key: <redacted>") {
		t.Errorf("config check: %s", check.stdout)
	}
}

func TestBackup_MissingBucketIsClear(t *testing.T) {
	w := newWorld(t)
	if err := w.srv.Client.RemoveBucket(t.Context(), w.srv.Bucket); err != nil {
		t.Fatal(err)
	}
	res := w.run("backup")
	want := `cloudkeep: bucket does not exist: "photos" at ` + w.proxy.Addr + ": create it with `cloudkeep config check --connect --create-bucket`, " +
		"or `mc mb ALIAS/photos`, or `aws s3 mb s3://photos --endpoint-url http://" + w.proxy.Addr + "`\n"
	if res.code == 0 || res.stderr != want {
		t.Errorf("exit %d, stderr %q, want %q", res.code, res.stderr, want)
	}
}

// An upload this device started but never journaled (it crashed first) is
// aborted; another user's upload is left alone.
func TestBackup_AbortsStaleUploadsOfThisDevice(t *testing.T) {
	w := newWorld(t)
	w.file("a.jpg", jpegHeader(t), 1000, 1)
	core := minio.Core{Client: w.srv.Client}
	ctx := t.Context()
	mine, err := core.NewMultipartUpload(ctx, w.srv.Bucket, "alice/laptop/pictures/old.mp4", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := core.NewMultipartUpload(ctx, w.srv.Bucket, "bob/desktop/pictures/b.mp4", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("exit %d: %s %s", res.code, res.stdout, res.stderr)
	}
	left := map[string]bool{}
	for up := range w.srv.Client.ListIncompleteUploads(ctx, w.srv.Bucket, "", true) {
		left[up.UploadID] = true
	}
	if left[mine] || !left[theirs] {
		t.Errorf("incomplete uploads left: %v; want only bob's %s", left, theirs)
	}
}

// With keys shared by the account's devices ({user}/{year}/{month}/{name}:
// no {device}), an incomplete upload under the account is not this
// device's to abort: another device may be sending it right now.
func TestBackup_LeavesSharedPrefixUploads(t *testing.T) {
	w := newWorld(t)
	w.writeConfig("  key_template: \"{user}/{year}/{month}/{name}\"\n")
	w.file("a.jpg", jpegHeader(t), 1000, 1)
	core := minio.Core{Client: w.srv.Client}
	other, err := core.NewMultipartUpload(t.Context(), w.srv.Bucket, "alice/2024/01/VID_0001.mp4", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("exit %d: %s %s", res.code, res.stdout, res.stderr)
	}
	left := false
	for up := range w.srv.Client.ListIncompleteUploads(t.Context(), w.srv.Bucket, "", true) {
		left = left || up.UploadID == other
	}
	if !left {
		t.Error("another device's upload in progress under the shared prefix alice/ was aborted")
	}
}
