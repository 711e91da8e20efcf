package e2e

import (
	"context"
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
	if res.code != 1 || !strings.Contains(res.stderr, "prune works with static storage credentials only: the account service does not let a device remove objects") {
		t.Errorf("prune in account mode: %d %q %q", res.code, res.stdout, res.stderr)
	}
}
