package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/restore"
)

// putObject stores body at key as the backup of device would, with its
// SHA-256 recorded, and returns that SHA-256.
func (w *world) putObject(key, device string, body []byte) string {
	w.t.Helper()
	sum := sha256.Sum256(body)
	meta := map[string]string{wire.MetaSHA256: hex.EncodeToString(sum[:]), wire.MetaDevice: device,
		wire.MetaMTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Format(time.RFC3339Nano)}
	if _, err := w.srv.Client.PutObject(context.Background(), w.srv.Bucket, key, bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{UserMetadata: meta}); err != nil {
		w.t.Fatal(err)
	}
	return hex.EncodeToString(sum[:])
}

// A file named like the restored copy is never overwritten either: the
// restored copy takes the next free name.
func TestRestore_NeverOverwritesRestoredCopy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	orig := w.file("2024/IMG_3.jpg", jpegHeader(t), 4000, 3)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	dest := filepath.Join(w.dir, "restored")
	dir := filepath.Join(dest, "laptop", "pictures", "2024")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "IMG_3 (restored).jpg"), []byte("my precious notes"), 0o644)
	os.WriteFile(filepath.Join(dir, "IMG_3.jpg"), []byte("local edit"), 0o644)
	res := w.run("restore", dest)
	if res.code != 0 || !strings.Contains(res.stdout, "restored 1 file(s)") {
		t.Fatalf("restore: %d %q %q", res.code, res.stdout, res.stderr)
	}
	for name, want := range map[string]string{"IMG_3.jpg": "local edit", "IMG_3 (restored).jpg": "my precious notes"} {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	if got := w.fileSHA256(filepath.Join(dir, "IMG_3 (restored 2).jpg")); got != orig {
		t.Errorf("IMG_3 (restored 2).jpg: sha256 %s, want %s", got, orig)
	}
	// Again: the copy is found in place.
	if res := w.run("restore", dest); res.code != 0 || !strings.Contains(res.stdout, "1 already in place") {
		t.Errorf("second restore: %d %q", res.code, res.stdout)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "IMG_3 (restored 3)*")); len(m) > 0 {
		t.Errorf("the second restore made %v", m)
	}
}

// An empty DEST or one that is a file is a usage error, and nothing is
// written.
func TestRestore_BadDest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.file("a.jpg", jpegHeader(t), 4000, 1)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	cmd := w.command("restore", "")
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "DEST is empty") || strings.Contains(string(out), "file(s)") {
		t.Errorf("empty DEST: %d %v %q", code, err, out)
	}
	afile := filepath.Join(w.dir, "afile")
	os.WriteFile(afile, []byte("x"), 0o644)
	res := w.run("restore", afile)
	if res.code != 2 || !strings.Contains(res.stderr, "is not a folder") || strings.Count(res.stderr+res.stdout, "not a") != 1 {
		t.Errorf("DEST a file: %d %q %q", res.code, res.stdout, res.stderr)
	}
}

// Keys that would land at one path: the first by key is restored, the
// other reported; an escape cloudkeep never writes is taken literally.
func TestRestore_KeysToOnePath(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.file("x.jpg", jpegHeader(t), 100, 1) // any backup, for the bucket and journal
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	big := func(c byte) []byte { return bytes.Repeat([]byte{c}, 3*MiB) }
	first := w.putObject("alice/laptop/pictures/c/50%.jpg", "laptop", big('a')) // written before '%' was escaped
	w.putObject("alice/laptop/pictures/c/50%25.jpg", "laptop", big('b'))        // the same name, escaped
	slash := w.putObject("alice/laptop/pictures/c/a%2Fb.jpg", "laptop", big('c'))
	plain := w.putObject("alice/laptop/pictures/c/a/b.jpg", "laptop", big('d'))
	dots := w.putObject("alice/laptop/pictures/%2E%2E/up.jpg", "laptop", big('e'))
	dest := filepath.Join(w.dir, "restored")
	res := w.run("restore", dest)
	if res.code != 1 || !strings.Contains(res.stdout, "failed: alice/laptop/pictures/c/50%25.jpg: another backed-up file goes to the same path (alice/laptop/pictures/c/50%.jpg)") {
		t.Errorf("restore: %d %q %q", res.code, res.stdout, res.stderr)
	}
	base := filepath.Join(dest, "laptop", "pictures")
	for rel, want := range map[string]string{"c/50%.jpg": first, "c/a%2Fb.jpg": slash, "c/a/b.jpg": plain, "%2E%2E/up.jpg": dots} {
		if got := w.fileSHA256(filepath.Join(base, rel)); got != want {
			t.Errorf("%s: sha256 %s, want %s", rel, got, want)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dest, "laptop", "up.jpg")); len(m) > 0 {
		t.Errorf("%%2E%%2E left the root's folder: %v", m)
	}
}

// A name as long as a file name may be restores: the partial file's name
// is short.
func TestRestore_LongName(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	name := strings.Repeat("x", 251) + ".jpg"
	sum := w.file(name, jpegHeader(t), 5000, 1)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	dest := filepath.Join(w.dir, "restored")
	if res := w.run("restore", dest); res.code != 0 {
		t.Fatalf("restore: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if got := w.fileSHA256(filepath.Join(dest, "laptop", "pictures", name)); got != sum {
		t.Errorf("sha256 %s, want %s", got, sum)
	}
}

// --to-roots restores any name its own backup stored (a newline too), and
// another device's files do not count against this one's.
func TestRestore_ToRootsOddNames(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sum := w.file("new\nline.jpg", jpegHeader(t), 5000, 1)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	w.putObject("alice/phone-old-layout.jpg", "phone", []byte("another device's"))
	os.Remove(filepath.Join(w.photos, "new\nline.jpg"))
	res := w.run("restore", "--to-roots")
	if res.code != 0 || !strings.Contains(res.stdout, "restored 1 file(s)") || strings.Contains(res.stdout, "not restored") {
		t.Errorf("restore: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if got := w.fileSHA256(filepath.Join(w.photos, "new\nline.jpg")); got != sum {
		t.Errorf("sha256 %s, want %s", got, sum)
	}
	w.putObject("alice/laptop-old-layout.jpg", "laptop", []byte("this device's"))
	res = w.run("restore", "--to-roots")
	if res.code != 1 || !strings.Contains(res.stdout, `not restored: 1 file(s) whose keys do not follow storage.key_template "{user}/{device}/{root}/{path}": "alice/laptop-old-layout.jpg"`) {
		t.Errorf("restore with this device's unplaceable file: %d %q", res.code, res.stdout)
	}
}

// A partial file whose bytes are not the object's (the object was replaced
// since, or the file is garbage) is downloaded again in the same run.
func TestRestore_ResumeOntoChangedObject(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const size = 60 * MiB
	w.file("B.mp4", mp4Header, size, 1)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	w.writeConfig("  bandwidth_limit: 20MiB/s\n")
	dest := filepath.Join(w.dir, "restored")
	dir := filepath.Join(dest, "laptop", "pictures")
	cmd := w.command("restore", dest)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.eventually(30*time.Second, "a partial file holds 10 MiB", func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "*"+restore.PartSuffix))
		if len(m) != 1 {
			return false
		}
		fi, err := os.Stat(m[0])
		return err == nil && fi.Size() >= 10*MiB
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	w.writeConfig("")
	sum := w.file("B.mp4", mp4Header, size, 2) // replaced
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("second backup: %s", res.stderr)
	}
	res := w.run("restore", dest)
	if res.code != 0 {
		t.Fatalf("restore after the object changed: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if got := w.fileSHA256(filepath.Join(dir, "B.mp4")); got != sum {
		t.Errorf("sha256 %s, want %s", got, sum)
	}

	// Garbage where the partial file goes.
	os.Remove(filepath.Join(dir, "B.mp4"))
	part := restore.PartName(filepath.Join(dir, "B.mp4"), restore.Item{Key: "alice/laptop/pictures/B.mp4"})
	os.WriteFile(part, bytes.Repeat([]byte("garbage "), 1<<16), 0o644)
	if res := w.run("restore", dest); res.code != 0 {
		t.Fatalf("restore onto a garbage partial file: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if got := w.fileSHA256(filepath.Join(dir, "B.mp4")); got != sum {
		t.Errorf("after garbage: sha256 %s, want %s", got, sum)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*"+restore.PartSuffix)); len(m) > 0 {
		t.Errorf("partial files left: %v", m)
	}
}

// A folder under DEST that is a symbolic link out of it is not written
// through.
func TestRestore_SymlinkOutOfDest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.file("2024/a.jpg", jpegHeader(t), 4000, 1)
	w.file("b.jpg", jpegHeader(t), 4000, 2)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	dest := filepath.Join(w.dir, "restored")
	outside := filepath.Join(w.dir, "outside")
	os.MkdirAll(filepath.Join(dest, "laptop", "pictures"), 0o755)
	os.MkdirAll(outside, 0o755)
	os.Symlink(outside, filepath.Join(dest, "laptop", "pictures", "2024"))
	res := w.run("restore", dest)
	if res.code != 1 || !strings.Contains(res.stdout, "failed: alice/laptop/pictures/2024/a.jpg: ") || !strings.Contains(res.stdout, "symbolic link") {
		t.Errorf("restore: %d %q", res.code, res.stdout)
	}
	if m, _ := os.ReadDir(outside); len(m) > 0 {
		t.Errorf("written outside DEST: %v", m)
	}
	if _, err := os.Stat(filepath.Join(dest, "laptop", "pictures", "b.jpg")); err != nil {
		t.Errorf("b.jpg: %v", err)
	}
}

// ls: [] in JSON and exit 1 when nothing matches, one prefix only, the
// key's device.
func TestLs_EdgeCases(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.file("a.jpg", jpegHeader(t), 4000, 1)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	res := w.run("ls", "--json", "nothing/")
	if res.code != 1 || strings.TrimSpace(res.stdout) != "[]" || !strings.Contains(res.stderr, `no backed-up file matches prefix "nothing/"`) {
		t.Errorf("ls --json no match: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if res := w.run("ls", "--prefix", "laptop/", "phone/"); res.code != 2 {
		t.Errorf("ls with two prefixes: %d %q", res.code, res.stderr)
	}
	w.putObject("alice/laptop/pictures/lie.jpg", "phone", []byte("metadata says phone"))
	res = w.run("ls", "--long", "laptop/pictures/lie.jpg")
	if res.code != 0 || !strings.Contains(res.stdout, "laptop        laptop/pictures/lie.jpg") {
		t.Errorf("ls --long: %d %q", res.code, res.stdout)
	}
}

// A download the network breaks off midway is resumed in the same run.
func TestRestore_ConnectionResetMidway(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const size = 60 * MiB
	sum := w.file("movie.mp4", mp4Header, size, 7)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %s", res.stderr)
	}
	w.writeConfig("  bandwidth_limit: 20MiB/s\n")
	dest := filepath.Join(w.dir, "restored")
	part := restore.PartName(filepath.Join(dest, "laptop", "pictures", "movie.mp4"), restore.Item{Key: "alice/laptop/pictures/movie.mp4"})
	cmd := w.command("restore", dest)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.eventually(30*time.Second, "the partial file holds 10 MiB", func() bool {
		fi, err := os.Stat(part)
		return err == nil && fi.Size() >= 10*MiB
	})
	w.proxy.BlackHole()
	w.proxy.EndBlackHole() // every connection reset
	if err := cmd.Wait(); err != nil {
		t.Fatalf("restore: %v %s", err, out.String())
	}
	if got := w.fileSHA256(filepath.Join(dest, "laptop", "pictures", "movie.mp4")); got != sum {
		t.Errorf("sha256 %s, want %s", got, sum)
	}
	if !strings.Contains(out.String(), "retrying") {
		t.Errorf("no retry logged: %s", out.String())
	}
}
