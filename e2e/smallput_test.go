package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// objectRequests counts the requests of method on objects under prefix
// that the proxy forwarded, but those of the device's manifest.
func (w *world) objectRequests(method, prefix string) int {
	n := 0
	for _, r := range w.proxy.Requests() {
		if r.Method == method && strings.HasPrefix(r.Target, "/"+w.srv.Bucket+"/"+prefix) && !strings.Contains(r.Target, "/.cloudkeep/") {
			n++
		}
	}
	return n
}

// A first backup of new photos sends each in one PUT, unsigned with its
// CRC32C, and asks about none of them first (no HEAD per file): one
// listing per folder tells they are not stored. A second run with the
// journal lost finds them all stored and sends no file again.
func TestBackup_SmallFilesOnePutEach(t *testing.T) {
	w := newWorld(t)
	jpg := jpegHeader(t)
	want := map[string]string{}
	for i := range 30 {
		rel := fmt.Sprintf("%d/IMG_%04d.jpg", i%2, i)
		want["alice/laptop/pictures/"+rel] = w.file(rel, jpg, 20<<10, uint64(i))
	}
	res := w.run("backup")
	if res.code != 0 || !strings.Contains(res.stdout, "backed up 30 file(s)") {
		t.Fatalf("backup: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	if heads, puts := w.objectRequests(http.MethodHead, "alice/"), w.objectRequests(http.MethodPut, "alice/"); heads != 0 || puts != 30 {
		t.Errorf("first backup: %d HEAD and %d PUT requests on objects, want 0 and 30", heads, puts)
	}
	for _, r := range w.proxy.Requests() {
		if r.Method == http.MethodPut && r.Header.Get("X-Amz-Content-Sha256") != "UNSIGNED-PAYLOAD" {
			t.Errorf("PUT %s: X-Amz-Content-Sha256 %q, want UNSIGNED-PAYLOAD", r.Target, r.Header.Get("X-Amz-Content-Sha256"))
		}
	}
	got := w.objects()
	for key, sum := range want {
		if got[key] != sum || w.contentSHA256(key) != sum {
			t.Errorf("%s: metadata sha256 %q, want %s", key, got[key], sum)
		}
	}

	for _, f := range []string{"journal.db", "journal.db-wal", "journal.db-shm"} {
		os.Remove(filepath.Join(w.state, f))
	}
	w.proxy.Reset()
	res = w.run("backup")
	if res.code != 0 || !strings.Contains(res.stdout, "30 already stored") {
		t.Fatalf("backup with the journal lost: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	if puts := w.objectRequests(http.MethodPut, "alice/"); puts != 0 {
		t.Errorf("backup with the journal lost: %d PUT requests, want none", puts)
	}
	var body int64
	for _, r := range w.proxy.Requests() {
		if !strings.Contains(r.Target, "/.cloudkeep/") { // the manifest, written by each backup
			body += max(r.Size, 0)
		}
	}
	if body != 0 {
		t.Errorf("backup with the journal lost sent %d bytes of request bodies, want 0", body)
	}
}

// A photo whose PUT is corrupted on the way is refused by the storage and
// sent again: the bucket holds its bytes, in one version.
func TestBackup_CorruptedPutIsSentAgain(t *testing.T) {
	w := newWorld(t)
	versioned := !onVersitygw() // versitygw's posix backend keeps no versions without setup
	if versioned {
		if err := w.srv.Client.EnableVersioning(context.Background(), w.srv.Bucket); err != nil {
			t.Fatal(err)
		}
	}
	jpg := jpegHeader(t)
	sum := w.file("IMG_0001.jpg", jpg, 300<<10, 1)
	key := "alice/laptop/pictures/IMG_0001.jpg"
	w.proxy.CorruptPuts(1)
	res := w.run("backup")
	if res.code != 0 || !strings.Contains(res.stdout, "backed up 1 file(s)") {
		t.Fatalf("backup: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	var corrupted, whole int
	for _, r := range w.proxy.Requests() {
		if r.Method != http.MethodPut || strings.Contains(r.Target, "/.cloudkeep/") { // the manifest
			continue
		}
		if r.Corrupted {
			corrupted++
		} else {
			whole++
		}
	}
	if corrupted != 1 || whole != 1 {
		t.Errorf("PUTs: %d corrupted and %d whole, want one of each", corrupted, whole)
	}
	if got := w.objects()[key]; got != sum || w.contentSHA256(key) != sum {
		t.Errorf("%s: metadata sha256 %q, want bytes and metadata %s", key, got, sum)
	}
	if versioned {
		n := 0
		for o := range w.srv.Client.ListObjects(context.Background(), w.srv.Bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			n++
		}
		if n != 1 {
			t.Errorf("%d versions of %s, want 1", n, key)
		}
	}
}
