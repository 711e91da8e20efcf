package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/restore"
)

// Back up a tree, lose it, restore it: every byte and mtime comes back.
func TestRestore_Tree(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	jpg := jpegHeader(t)
	want := map[string]string{}
	for i := range 200 {
		rel := fmt.Sprintf("%d/IMG_%03d.jpg", 2020+i%4, i)
		want[rel] = w.file(rel, jpg, int64(1000+i*997), uint64(i))
		mt := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Hour)
		os.Chtimes(filepath.Join(w.photos, rel), mt, mt)
	}
	want["clip.mp4"] = w.file("clip.mp4", mp4Header, 12*MiB, 999)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s %s", res.code, res.stdout, res.stderr)
	}
	mtimes := map[string]time.Time{}
	for rel := range want {
		fi, _ := os.Stat(filepath.Join(w.photos, rel))
		mtimes[rel] = fi.ModTime()
	}
	ls := w.run("ls", "--long")
	if ls.code != 0 || !strings.Contains(ls.stdout, "201 file(s)") || !strings.Contains(ls.stdout, "laptop/pictures/clip.mp4") {
		t.Errorf("ls: %d %q", ls.code, ls.stdout[max(0, len(ls.stdout)-300):])
	}
	if ls := w.run("ls", "laptop/pictures/2021/"); strings.Count(ls.stdout, "\n") != 50 {
		t.Errorf("ls with a prefix listed %d lines, want 50", strings.Count(ls.stdout, "\n"))
	}
	os.RemoveAll(w.photos)

	dest := filepath.Join(w.dir, "restored")
	res := w.run("restore", dest)
	if res.code != 0 || !strings.Contains(res.stdout, "restored 201 file(s)") {
		t.Fatalf("restore: %d %s %s", res.code, res.stdout, res.stderr)
	}
	for rel, sum := range want {
		path := filepath.Join(dest, "laptop", "pictures", rel)
		if got := w.fileSHA256(path); got != sum {
			t.Errorf("%s: sha256 %s, want %s", rel, got, sum)
		}
		if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(mtimes[rel]) {
			t.Errorf("%s: mtime %v, want %v", rel, fi.ModTime(), mtimes[rel])
		}
	}
	// Again: everything is in place already.
	res = w.run("restore", dest)
	if res.code != 0 || !strings.Contains(res.stdout, "restored 0 file(s), 0 B downloaded") || !strings.Contains(res.stdout, "201 already in place") {
		t.Errorf("second restore: %q", res.stdout)
	}
}

// A restore killed midway continues from the partial file.
func TestRestore_ResumesAfterKill(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const size = 200 * MiB
	sum := w.file("movie.mp4", mp4Header, size, 5)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	w.writeConfig("  bandwidth_limit: 40MiB/s\n")
	dest := filepath.Join(w.dir, "restored")
	part := restore.PartName(filepath.Join(dest, "laptop", "pictures", "movie.mp4"), restore.Item{Key: "alice/laptop/pictures/movie.mp4"})
	cmd := w.command("restore", dest)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.eventually(30*time.Second, "the partial file holds 40 MiB", func() bool {
		fi, err := os.Stat(part)
		return err == nil && fi.Size() >= 40*MiB
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	fi, _ := os.Stat(part)
	have := fi.Size()

	w.proxy.Reset()
	w.writeConfig("")
	res := w.run("restore", dest)
	if res.code != 0 {
		t.Fatalf("second restore: %d %s %s", res.code, res.stdout, res.stderr)
	}
	if got := w.fileSHA256(filepath.Join(dest, "laptop", "pictures", "movie.mp4")); got != sum {
		t.Errorf("restored file: %s, want %s", got, sum)
	}
	if recv, most := w.proxy.Received(), size-have+MiB+64<<10; recv > most {
		t.Errorf("the second run downloaded %d bytes, want at most the remainder %d plus one chunk", recv, size-have)
	}
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Errorf("the partial file is left: %v", err)
	}
}

// An object whose bytes do not match its recorded SHA-256 is reported and
// never lands at its path.
func TestRestore_CorruptObject(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.file("a.jpg", jpegHeader(t), 5000, 1)
	w.file("b.jpg", jpegHeader(t), 5000, 2)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	key := "alice/laptop/pictures/a.jpg"
	ctx := context.Background()
	info, err := w.srv.Client.StatObject(ctx, w.srv.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Repeat([]byte("x"), 5000)
	if _, err := w.srv.Client.PutObject(ctx, w.srv.Bucket, key, bytes.NewReader(bad), 5000,
		minio.PutObjectOptions{UserMetadata: info.UserMetadata}); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(w.dir, "restored")
	res := w.run("restore", dest)
	if res.code != 1 || !strings.Contains(res.stdout, "failed: "+key+": checksum mismatch") {
		t.Errorf("restore: %d %q", res.code, res.stdout)
	}
	a := filepath.Join(dest, "laptop", "pictures", "a.jpg")
	for _, p := range []string{a, restore.PartName(a, restore.Item{Key: key})} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a checksum mismatch", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "laptop", "pictures", "b.jpg")); err != nil {
		t.Errorf("the good file was not restored: %v", err)
	}
}

// Files already at the destination: identical ones are skipped, different
// ones are kept and the restored copy is suffixed.
func TestRestore_ExistingFiles(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	same := w.file("same.jpg", jpegHeader(t), 4000, 1)
	orig := w.file("changed.jpg", jpegHeader(t), 4000, 2)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	dest := filepath.Join(w.dir, "restored")
	dir := filepath.Join(dest, "laptop", "pictures")
	os.MkdirAll(dir, 0o755)
	b, _ := os.ReadFile(filepath.Join(w.photos, "same.jpg"))
	os.WriteFile(filepath.Join(dir, "same.jpg"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "changed.jpg"), []byte("the person's newer edit"), 0o644)
	res := w.run("restore", dest)
	if res.code != 0 || !strings.Contains(res.stdout, "restored 1 file(s)") || !strings.Contains(res.stdout, "1 already in place") {
		t.Fatalf("restore: %d %q", res.code, res.stdout)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "changed.jpg")); string(got) != "the person's newer edit" {
		t.Error("a different local file was overwritten")
	}
	if got := w.fileSHA256(filepath.Join(dir, "changed (restored).jpg")); got != orig {
		t.Errorf("suffixed copy: %s, want %s", got, orig)
	}
	if got := w.fileSHA256(filepath.Join(dir, "same.jpg")); got != same {
		t.Errorf("identical file changed")
	}
	res = w.run("restore", "--overwrite", dest)
	if got := w.fileSHA256(filepath.Join(dir, "changed.jpg")); res.code != 0 || got != orig {
		t.Errorf("--overwrite: %d, file %s", res.code, got)
	}
}
