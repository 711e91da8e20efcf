package e2e

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/manifest"
)

const manifestKey = "alice/.cloudkeep/manifests/laptop.json.gz"

// manifestOf reads the device's manifest from the bucket; nil when there
// is none yet.
func (w *world) manifestOf(key string) *manifest.Manifest {
	w.t.Helper()
	obj, err := w.srv.Client.GetObject(context.Background(), w.srv.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	defer obj.Close()
	m, err := manifest.Decode(obj)
	if err != nil {
		return nil
	}
	return m
}

// manifestLive lists the keys the manifest holds live now.
func manifestLive(m *manifest.Manifest) []string {
	var out []string
	for _, e := range m.Live(time.Time{}) {
		out = append(out, e.Key)
	}
	return out
}

// manifestRestore restores into a new folder with args and returns the
// files it holds (below the account) with their sha256, and the run.
func (w *world) manifestRestore(name string, args ...string) (map[string]string, result) {
	w.t.Helper()
	dest := filepath.Join(w.dir, name)
	res := w.run(append([]string{"restore", dest}, args...)...)
	got := map[string]string{}
	filepath.WalkDir(dest, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dest, path)
			got[filepath.ToSlash(rel)] = w.fileSHA256(path)
		}
		return nil
	})
	return got, res
}

// The agent keeps the device's manifest: restore brings back the files the
// device holds now (a renamed file under its new name only, a deleted one
// not at all), --all every file ever stored, --as-of the files of an
// earlier moment; without a manifest, everything, and it says so. prune
// lists the objects of deleted and renamed-away files, then removes them.
func TestManifest_RestoreStateAndPrune(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.env = append(w.env, "CLOUDKEEP_TEST_MANIFEST_EVERY=200ms")
	jpg := jpegHeader(t)
	sums := map[string]string{
		"keep.jpg":     w.file("keep.jpg", jpg, 30<<10, 1),
		"DSC_0002.JPG": w.file("DSC_0002.JPG", jpg, 40<<10, 2),
		"gone.jpg":     w.file("gone.jpg", jpg, 50<<10, 3),
	}
	const p = "alice/laptop/pictures/"
	a := w.startAgent()
	w.eventually(20*time.Second, "the manifest holds the three files", func() bool {
		m := w.manifestOf(manifestKey)
		return m != nil && slices.Equal(manifestLive(m), []string{p + "DSC_0002.JPG", p + "gone.jpg", p + "keep.jpg"})
	})
	before := time.Now()
	time.Sleep(50 * time.Millisecond)
	if err := os.Rename(filepath.Join(w.photos, "DSC_0002.JPG"), filepath.Join(w.photos, "DSC_0002_renamed.JPG")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(w.photos, "gone.jpg")); err != nil {
		t.Fatal(err)
	}
	w.eventually(20*time.Second, "the manifest follows the rename and the delete", func() bool {
		m := w.manifestOf(manifestKey)
		return m != nil && slices.Equal(manifestLive(m), []string{p + "DSC_0002_renamed.JPG", p + "keep.jpg"})
	})
	a.stop()
	all := []string{p + "DSC_0002.JPG", p + "DSC_0002_renamed.JPG", p + "gone.jpg", p + "keep.jpg"}
	if got := keys(w.objects()); !slices.Equal(got, all) {
		t.Fatalf("bucket: %v, want the renamed file copied and nothing removed: %v", got, all)
	}

	const l = "laptop/pictures/"
	now := map[string]string{l + "DSC_0002_renamed.JPG": sums["DSC_0002.JPG"], l + "keep.jpg": sums["keep.jpg"]}
	if got, res := w.manifestRestore("now"); res.code != 0 || !maps.Equal(got, now) || strings.Contains(res.stderr, "manifest") {
		t.Errorf("restore: %v (%d %s %s), want %v", got, res.code, res.stdout, res.stderr, now)
	}
	everything := map[string]string{l + "DSC_0002.JPG": sums["DSC_0002.JPG"], l + "DSC_0002_renamed.JPG": sums["DSC_0002.JPG"],
		l + "gone.jpg": sums["gone.jpg"], l + "keep.jpg": sums["keep.jpg"]}
	if got, res := w.manifestRestore("all", "--all"); res.code != 0 || !maps.Equal(got, everything) {
		t.Errorf("restore --all: %v (%d %s), want %v", got, res.code, res.stderr, everything)
	}
	then := map[string]string{l + "DSC_0002.JPG": sums["DSC_0002.JPG"], l + "gone.jpg": sums["gone.jpg"], l + "keep.jpg": sums["keep.jpg"]}
	if got, res := w.manifestRestore("then", "--as-of", before.Format(time.RFC3339Nano)); res.code != 0 || !maps.Equal(got, then) {
		t.Errorf("restore --as-of %s: %v (%d %s), want %v", before.Format(time.RFC3339Nano), got, res.code, res.stderr, then)
	}
	if ls := w.run("ls"); ls.code != 0 || ls.stdout != "laptop/pictures/DSC_0002_renamed.JPG\nlaptop/pictures/keep.jpg\n" {
		t.Errorf("ls: %d %q", ls.code, ls.stdout)
	}
	if ls := w.run("ls", "--all"); ls.code != 0 || strings.Count(ls.stdout, "\n") != 4 {
		t.Errorf("ls --all: %d %q", ls.code, ls.stdout)
	}
	if res := w.run("restore", filepath.Join(w.dir, "x"), "--all", "--as-of", "2026-03-01"); res.code != 2 {
		t.Errorf("--all with --as-of: %d %s, want a usage error", res.code, res.stderr)
	}

	// Without a manifest: everything, said once.
	saved := w.manifestOf(manifestKey)
	if err := w.srv.Client.RemoveObject(context.Background(), w.srv.Bucket, manifestKey, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	got, res := w.manifestRestore("fallback")
	const fallback = "no manifest for laptop: restoring every stored version; the agent (or cloudkeep backup) of that device writes one\n"
	if res.code != 0 || !maps.Equal(got, everything) || !strings.HasPrefix(res.stderr, fallback) || strings.Count(res.stderr, "no manifest") != 1 {
		t.Errorf("restore without a manifest: %v (%d %q)", got, res.code, res.stderr)
	}
	if saved == nil {
		t.Fatal("no manifest was read")
	}

	// prune writes the manifest again from the journal, lists, removes.
	dry := w.run("prune", "--deleted-before", "0s", "--dry-run")
	if dry.code != 0 || !strings.Contains(dry.stdout, "2 object(s), 90 KiB, of files deleted or renamed away on laptop before") ||
		!strings.Contains(dry.stdout, "  "+p+"DSC_0002.JPG  40 KiB  gone since ") || !strings.Contains(dry.stdout, "  "+p+"gone.jpg  50 KiB  gone since ") ||
		!strings.Contains(dry.stdout, "dry run: nothing removed") {
		t.Errorf("prune --dry-run: %d %q %q", dry.code, dry.stdout, dry.stderr)
	}
	if got := keys(w.objects()); !slices.Equal(got, all) {
		t.Errorf("after the dry run: %v, want %v", got, all)
	}
	if res := w.run("prune", "--deleted-before", "1d", "--dry-run"); res.code != 0 || !strings.HasPrefix(res.stdout, "nothing to prune: no stored file of laptop was deleted or renamed away before ") {
		t.Errorf("prune --deleted-before 1d: %d %q", res.code, res.stdout)
	}
	if res := w.run("prune", "--deleted-before", "0s"); res.code != 2 || !strings.Contains(res.stderr, "prune asks before removing, and no terminal is there to answer: run it with --yes") {
		t.Errorf("prune without a terminal or --yes: %d %q", res.code, res.stderr)
	}
	if res := w.run("prune", "--deleted-before", "0s", "--yes"); res.code != 0 || !strings.Contains(res.stdout, "removed 2 object(s), 90 KiB; thumbnails are kept") {
		t.Errorf("prune --yes: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if got, want := keys(w.objects()), []string{p + "DSC_0002_renamed.JPG", p + "keep.jpg"}; !slices.Equal(got, want) {
		t.Errorf("after prune: %v, want %v", got, want)
	}
	if got, res := w.manifestRestore("after", "--all"); res.code != 0 || !maps.Equal(got, now) {
		t.Errorf("restore --all after prune: %v (%d %s), want %v", got, res.code, res.stderr, now)
	}
	if m := w.manifestOf(manifestKey); m == nil || len(m.Keys) != 2 {
		t.Errorf("the manifest after prune: %+v, want the two live keys only", m)
	}

	// A new machine under the same name (no journal, no files yet): its
	// first backup keeps what the manifest said of keys it never knew.
	for _, d := range []string{w.photos, w.state} {
		os.RemoveAll(d)
		os.MkdirAll(d, 0o777)
	}
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup on a new machine: %d %s %s", res.code, res.stdout, res.stderr)
	}
	if got, res := w.manifestRestore("new-machine"); res.code != 0 || !maps.Equal(got, now) {
		t.Errorf("restore after a backup with a new journal: %v (%d %s), want %v", got, res.code, res.stderr, now)
	}

	// An object the manifest holds is gone from the bucket: said, and the
	// others are restored.
	if err := w.srv.Client.RemoveObject(context.Background(), w.srv.Bucket, p+"DSC_0002_renamed.JPG", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	got, res = w.manifestRestore("missing")
	if res.code != 0 || !maps.Equal(got, map[string]string{l + "keep.jpg": sums["keep.jpg"]}) ||
		!strings.Contains(res.stderr, "laptop: 1 file(s) of its manifest are no longer in the storage: \""+p+"DSC_0002_renamed.JPG\"\n") {
		t.Errorf("restore with an object gone: %v (%d %q)", got, res.code, res.stderr)
	}
}

// In account mode the gate lets the device write its manifest under its
// account, restore reads it, and prune says it cannot remove objects.
func TestManifest_AccountMode(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	id := s.signup("ana@example.com", "ana-pass-42")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, "ana@example.com", "ana-pass-42", "ana@example.com")
	jpg := jpegHeader(t)
	keep := w.file("keep.jpg", jpg, 30<<10, 1)
	w.file("gone.jpg", jpg, 30<<10, 2)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s %s", res.code, res.stdout, res.stderr)
	}
	key := id + "/.cloudkeep/manifests/laptop.json.gz"
	if m := w.manifestOf(key); m == nil || len(manifestLive(m)) != 2 {
		t.Fatalf("manifest after the backup: %+v", m)
	}
	os.Remove(filepath.Join(w.photos, "gone.jpg"))
	w.env = append(w.env, "CLOUDKEEP_TEST_MANIFEST_EVERY=200ms")
	a := w.startAgent()
	w.eventually(20*time.Second, "the manifest drops gone.jpg", func() bool {
		m := w.manifestOf(key)
		return m != nil && slices.Equal(manifestLive(m), []string{id + "/laptop/pictures/keep.jpg"})
	})
	a.stop()
	if got, res := w.manifestRestore("now"); res.code != 0 || !maps.Equal(got, map[string]string{"laptop/pictures/keep.jpg": keep}) {
		t.Errorf("restore: %v (%d %s %s)", got, res.code, res.stdout, res.stderr)
	}
	if got, _ := w.manifestRestore("all", "--all"); len(got) != 2 {
		t.Errorf("restore --all: %v, want both files", got)
	}
	res := w.run("prune", "--deleted-before", "0s", "--dry-run")
	if res.code != 2 || !strings.Contains(res.stderr, "prune works with static storage credentials only: the account service does not let a device remove objects") {
		t.Errorf("prune in account mode: %d %q %q", res.code, res.stdout, res.stderr)
	}
}

// putRaw stores body at key as is.
func (w *world) putRaw(key string, body []byte) {
	w.t.Helper()
	if _, err := w.srv.Client.PutObject(context.Background(), w.srv.Bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

// rawObject reads the bytes at key.
func (w *world) rawObject(key string) []byte {
	w.t.Helper()
	obj, err := w.srv.Client.GetObject(context.Background(), w.srv.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// encodedManifest is m as it lies in the bucket.
func encodedManifest(t *testing.T, m *manifest.Manifest) []byte {
	var b bytes.Buffer
	if err := manifest.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A file moved back onto the device while prune waited for its answer is
// not removed: prune checks the journal again right before removing.
func TestManifest_PruneKeepsWhatCameBack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	jpg := jpegHeader(t)
	sum := w.file("back.jpg", jpg, 30<<10, 1)
	w.file("gone.jpg", jpg, 20<<10, 2)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s", res.code, res.stderr)
	}
	aside := filepath.Join(w.dir, "back.jpg")
	if err := os.Rename(filepath.Join(w.photos, "back.jpg"), aside); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(w.photos, "gone.jpg"))
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup after the delete: %d %s", res.code, res.stderr)
	}
	cmd := w.command("prune", "--deleted-before", "0s", "--yes")
	cmd.Env = append(cmd.Env, "CLOUDKEEP_TEST_PRUNE_WAIT=4s")
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	w.eventually(20*time.Second, "prune lists what it removes", func() bool {
		return strings.Contains(out.String(), "2 object(s)")
	})
	if res := w.run("prune", "--deleted-before", "0s", "--dry-run"); res.code != 1 || !strings.Contains(res.stderr, "another cloudkeep prune of this device is running (it holds ") {
		t.Errorf("a second prune at once: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if err := os.Rename(aside, filepath.Join(w.photos, "back.jpg")); err != nil {
		t.Fatal(err)
	}
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup with the file back: %d %s", res.code, res.stderr)
	}
	if err := <-done; err != nil {
		t.Fatalf("prune: %v %s %s", err, out.String(), errb.String())
	}
	const p = "alice/laptop/pictures/"
	if got := w.objects(); got[p+"back.jpg"] != sum || len(got) != 1 {
		t.Errorf("bucket after prune: %v, want back.jpg only (%s)", got, sum)
	}
	if !strings.Contains(out.String(), "removed 1 object(s), 20 KiB; thumbnails are kept\nkept 1 object(s) whose files came back since they were listed: \""+p+"back.jpg\"\n") {
		t.Errorf("prune said %q", out.String())
	}
}

// prune refuses what could remove a file another device holds, or all:
// a key template without {device}, an age that overflows.
func TestManifest_PruneRefuses(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.file("a.jpg", jpegHeader(t), 10<<10, 1)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s", res.code, res.stderr)
	}
	os.Remove(filepath.Join(w.photos, "a.jpg"))
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s", res.code, res.stderr)
	}
	for _, age := range []string{"999999d", "36526d", "876601h", "99999999999999999999d"} {
		res := w.run("prune", "--deleted-before", age, "--yes")
		if res.code != 2 || !strings.Contains(res.stderr, "at most 100 years (36525d)") {
			t.Errorf("--deleted-before %s: %d %q %q", age, res.code, res.stdout, res.stderr)
		}
	}
	// A manifest that names keys of another device, or of no account,
	// as gone from this one: prune removes only keys of its own.
	m := w.manifestOf(manifestKey)
	for _, k := range []string{"alice/phone/pictures/x.jpg", "bob/laptop/pictures/x.jpg"} {
		w.putRaw(k, []byte("another's photo"))
		m.Keys = append(m.Keys, manifest.Entry{Key: k, Live: []manifest.Span{{From: 1, To: 2}}})
	}
	w.putRaw(manifestKey, encodedManifest(t, m))
	if res := w.run("prune", "--deleted-before", "0s", "--yes"); res.code != 0 || !strings.Contains(res.stdout, "removed 1 object(s)") {
		t.Errorf("prune: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if got := keys(w.objects()); !slices.Equal(got, []string{"alice/phone/pictures/x.jpg", "bob/laptop/pictures/x.jpg"}) {
		t.Errorf("after prune: %v, want the other keys kept", got)
	}
	w.file("b.jpg", jpegHeader(t), 10<<10, 2)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s", res.code, res.stderr)
	}
	os.Remove(filepath.Join(w.photos, "b.jpg"))
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s", res.code, res.stderr)
	}
	w.writeConfig("  key_template: \"{user}/{year}/{month}/{name}\"\n")
	res := w.run("prune", "--deleted-before", "0s", "--yes")
	if res.code != 2 || !strings.Contains(res.stderr, "prune works only with a key template that names {device}: under shared keys another device may hold a photo this one deleted") {
		t.Errorf("prune without {device}: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if got := len(w.objects()); got != 3 {
		t.Errorf("%d objects left, want 3", got)
	}
}

// A manifest of a newer format is never written over; an unreadable one
// is replaced, with a warning; prune --dry-run writes nothing.
func TestManifest_NewerAndUnreadable(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.file("a.jpg", jpegHeader(t), 10<<10, 1)
	newer := encodedManifest(t, &manifest.Manifest{Version: manifest.Version + 1, Device: "laptop"})
	w.putRaw(manifestKey, newer)
	res := w.run("backup")
	if res.code != 0 || strings.Count(res.stderr, "the manifest of laptop is of a newer format: not replaced; upgrade cloudkeep") != 1 {
		t.Errorf("backup over a newer manifest: %d %q", res.code, res.stderr)
	}
	if !bytes.Equal(w.rawObject(manifestKey), newer) {
		t.Errorf("the newer manifest was written over")
	}
	if res := w.run("prune", "--deleted-before", "0s", "--dry-run"); res.code != 1 || !strings.Contains(res.stderr, "newer than this cloudkeep reads") {
		t.Errorf("prune over a newer manifest: %d %q %q", res.code, res.stdout, res.stderr)
	}

	w.putRaw(manifestKey, []byte("garbage"))
	if res := w.run("prune", "--deleted-before", "0s", "--dry-run"); res.code != 0 || string(w.rawObject(manifestKey)) != "garbage" {
		t.Errorf("prune --dry-run wrote to the bucket: %d %q %q", res.code, res.stdout, res.stderr)
	}
	res = w.run("backup")
	if res.code != 0 || strings.Count(res.stderr, "the manifest of laptop in the storage cannot be read") != 1 || !strings.Contains(res.stderr, "it is replaced") {
		t.Errorf("backup over an unreadable manifest: %d %q", res.code, res.stderr)
	}
	if m := w.manifestOf(manifestKey); m == nil || len(manifestLive(m)) != 1 {
		t.Errorf("the unreadable manifest was not replaced: %+v", m)
	}
}

// One unreadable manifest does not fail ls and restore: its device is
// listed whole, with a warning naming it; the others keep their state.
func TestManifest_UnreadableOneDevice(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	jpg := jpegHeader(t)
	w.file("keep.jpg", jpg, 10<<10, 1)
	w.file("gone.jpg", jpg, 10<<10, 2)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s", res.code, res.stderr)
	}
	os.Remove(filepath.Join(w.photos, "gone.jpg"))
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s", res.code, res.stderr)
	}
	// The phone's manifest says its old.jpg was deleted.
	w.putRaw("alice/phone/pictures/old.jpg", jpg)
	w.putRaw("alice/phone/pictures/new.jpg", jpg)
	w.putRaw("alice/.cloudkeep/manifests/phone.json.gz", encodedManifest(t, &manifest.Manifest{Device: "phone", Keys: []manifest.Entry{
		{Key: "alice/phone/pictures/new.jpg", Live: []manifest.Span{{From: 1}}},
		{Key: "alice/phone/pictures/old.jpg", Live: []manifest.Span{{From: 1, To: 2}}},
	}}))
	ls := w.run("ls")
	if ls.code != 0 || ls.stdout != "laptop/pictures/keep.jpg\nphone/pictures/new.jpg\n" ||
		ls.stderr != "left out 1 file(s) deleted or renamed away on laptop: --as-of DAY or --all brings them\nleft out 1 file(s) deleted or renamed away on phone: --as-of DAY or --all brings them\n" {
		t.Errorf("ls: %d %q %q", ls.code, ls.stdout, ls.stderr)
	}
	w.putRaw(manifestKey, []byte("garbage"))
	ls = w.run("ls")
	if ls.code != 0 || ls.stdout != "laptop/pictures/gone.jpg\nlaptop/pictures/keep.jpg\nphone/pictures/new.jpg\n" ||
		!strings.Contains(ls.stderr, "the manifest of laptop cannot be read (alice/.cloudkeep/manifests/laptop.json.gz: manifest: not gzip: ") ||
		!strings.Contains(ls.stderr, "listing every stored version of laptop\n") {
		t.Errorf("ls with the laptop's manifest unreadable: %d %q %q", ls.code, ls.stdout, ls.stderr)
	}
	if ls := w.run("ls", "--device", "laptop"); ls.code != 0 || ls.stdout != "laptop/pictures/gone.jpg\nlaptop/pictures/keep.jpg\n" {
		t.Errorf("ls --device laptop: %d %q %q", ls.code, ls.stdout, ls.stderr)
	}
	if got, res := w.manifestRestore("phone", "--device", "phone"); res.code != 0 || len(got) != 1 || strings.Contains(res.stderr, "laptop") {
		t.Errorf("restore --device phone: %v %d %q", got, res.code, res.stderr)
	}
}

// Pruned keys stay out of the manifest: the running agent does not bring
// them back from the manifest it read at its start, nor after a restart,
// and a prune stopped partway is finished by the next.
func TestManifest_PrunedStayForgotten(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.env = append(w.env, "CLOUDKEEP_TEST_MANIFEST_EVERY=200ms")
	jpg := jpegHeader(t)
	w.file("keep.jpg", jpg, 10<<10, 1)
	w.file("gone.jpg", jpg, 10<<10, 2)
	w.file("half.jpg", jpg, 10<<10, 3)
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s", res.code, res.stderr)
	}
	const p = "alice/laptop/pictures/"
	a := w.startAgent()
	os.Remove(filepath.Join(w.photos, "gone.jpg"))
	os.Remove(filepath.Join(w.photos, "half.jpg"))
	w.eventually(20*time.Second, "the manifest holds keep.jpg only live", func() bool {
		m := w.manifestOf(manifestKey)
		return m != nil && slices.Equal(manifestLive(m), []string{p + "keep.jpg"})
	})
	before := time.Now()
	// A prune that removed half.jpg and was killed then.
	if err := w.srv.Client.RemoveObject(context.Background(), w.srv.Bucket, p+"half.jpg", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if res := w.run("prune", "--deleted-before", "0s", "--yes"); res.code != 0 || !strings.Contains(res.stdout, "removed 1 object(s)") {
		t.Fatalf("prune: %d %q %q", res.code, res.stdout, res.stderr)
	}
	w.file("new.jpg", jpg, 10<<10, 4)
	onlyLive := func(m *manifest.Manifest) bool {
		return m != nil && len(m.Keys) == 2 && slices.Equal(manifestLive(m), []string{p + "keep.jpg", p + "new.jpg"})
	}
	w.eventually(20*time.Second, "the agent's manifest holds new.jpg and not the pruned keys", func() bool {
		m := w.manifestOf(manifestKey)
		return m != nil && slices.Contains(manifestLive(m), p+"new.jpg")
	})
	if m := w.manifestOf(manifestKey); !onlyLive(m) {
		t.Errorf("the running agent's manifest: %+v", m)
	}
	a.stop()
	a = w.startAgent()
	time.Sleep(2 * time.Second)
	a.stop()
	if m := w.manifestOf(manifestKey); !onlyLive(m) {
		t.Errorf("the manifest after a restart: %+v", m)
	}
	if ls := w.run("ls", "--as-of", before.Format(time.RFC3339Nano)); ls.code != 0 || strings.Contains(ls.stderr, "no longer in the storage") {
		t.Errorf("ls --as-of: %d %q %q", ls.code, ls.stdout, ls.stderr)
	}
}

// Two machines under one device name merge the manifest, and the second
// to write is told; a lost journal keeps the times the files were live
// since.
func TestManifest_TwoWritersOneName(t *testing.T) {
	t.Parallel()
	a := newWorld(t)
	b := newWorldOn(t, a.srv, "")
	jpg := jpegHeader(t)
	a.file("a.jpg", jpg, 10<<10, 1)
	b.file("b.jpg", jpg, 10<<10, 2)
	if res := a.run("backup"); res.code != 0 {
		t.Fatalf("backup a: %d %s", res.code, res.stderr)
	}
	const p = "alice/laptop/pictures/"
	first, _ := a.manifestOf(manifestKey).Find(p + "a.jpg")
	if res := b.run("backup"); res.code != 0 || strings.Contains(res.stderr, "another machine") {
		t.Fatalf("backup b: %d %s", res.code, res.stderr)
	}
	res := a.run("backup")
	if res.code != 0 || strings.Count(res.stderr, "another machine writes the manifest of device laptop (writer ") != 1 ||
		!strings.Contains(res.stderr, "give each machine its own device.name") {
		t.Errorf("backup a again: %d %q", res.code, res.stderr)
	}
	if ls := a.run("ls"); ls.code != 0 || ls.stdout != "laptop/pictures/a.jpg\nlaptop/pictures/b.jpg\n" {
		t.Errorf("ls: %d %q %q", ls.code, ls.stdout, ls.stderr)
	}
	// a loses its journal.
	os.RemoveAll(a.state)
	os.MkdirAll(a.state, 0o777)
	time.Sleep(10 * time.Millisecond)
	if res := a.run("backup"); res.code != 0 {
		t.Fatalf("backup with a new journal: %d %s", res.code, res.stderr)
	}
	m := a.manifestOf(manifestKey)
	if e, ok := m.Find(p + "a.jpg"); !ok || len(e.Live) == 0 || len(first.Live) == 0 || e.Live[0].From != first.Live[0].From || !e.LiveNow() {
		t.Errorf("a.jpg after a new journal: %+v, want it live since %+v", e, first)
	}
	if !slices.Equal(manifestLive(m), []string{p + "a.jpg", p + "b.jpg"}) {
		t.Errorf("live after a new journal: %v", manifestLive(m))
	}
}
