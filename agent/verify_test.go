package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/versitygwtest"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/verify"
)

// TestCheck_Timing measures the light verify (journal rows read, bucket
// listed, compared) of synthetic files stored in a real MinIO: 1,000 by
// default, CLOUDKEEP_VERIFY_FILES=100000 for the full measure, and on
// versitygw (whose listing has no metadata: each object is asked for its
// own) with CLOUDKEEP_VERIFY_S3=versitygw.
func TestCheck_Timing(t *testing.T) {
	n := 1000
	if s := os.Getenv("CLOUDKEEP_VERIFY_FILES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("CLOUDKEEP_VERIFY_FILES=%q: %v", s, err)
		}
	}
	var client *minio.Client
	var bucket string
	if os.Getenv("CLOUDKEEP_VERIFY_S3") == "versitygw" {
		v := versitygwtest.Start(t)
		client, bucket = v.Client, v.Bucket
	} else {
		srv := miniotest.Start(t)
		client, bucket = srv.Client, srv.Bucket
	}
	ctx := context.Background()
	keys := KeyTemplate{Template: "{user}/{device}/{root}/{path}", User: "alice", Device: "laptop"}
	start := time.Now()
	etags := verifyStore(t, client, bucket, keys, n)
	t.Logf("stored %d objects in %s", n, time.Since(start).Round(time.Millisecond))
	j := verifyJournal(t, keys, etags)

	st := storage.NewDirect(client, bucket)
	start = time.Now()
	rep, err := Check(ctx, j, st, keys, verify.Input{})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Tracked != n || rep.Objects != n || len(rep.Findings) != 0 {
		t.Fatalf("got %d tracked, %d objects, findings %v; want %d, all stored", rep.Tracked, rep.Objects, rep.Findings, n)
	}
	var rows int
	rstart := time.Now()
	j.Rows(ctx, func(journal.Row) error { rows++; return nil })
	readRows := time.Since(rstart)
	lstart := time.Now()
	st.ListKeys(ctx, keys.Prefix(), func(storage.Object) error { return nil })
	keysOnly := time.Since(lstart)
	lstart = time.Now()
	st.List(ctx, keys.Prefix(), func(storage.Object) error { return nil })
	t.Logf("verify of %d files: %s (journal read %s, listing keys %s; a listing with metadata takes %s)", n, took.Round(time.Millisecond),
		readRows.Round(time.Millisecond), keysOnly.Round(time.Millisecond), time.Since(lstart).Round(time.Millisecond))
}

// verifyStore puts n small objects under keys' prefix with their sha256
// in the metadata, 32 at a time, and returns their ETags by path.
func verifyStore(t *testing.T, client *minio.Client, bucket string, keys KeyTemplate, n int) map[string]verifyObject {
	var mu sync.Mutex
	out := make(map[string]verifyObject, n)
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(32)
	for i := range n {
		g.Go(func() error {
			rel := fmt.Sprintf("%d/IMG_%06d.jpg", 2000+i%20, i)
			body := []byte(fmt.Sprintf("photo %d", i))
			sum := sha256.Sum256(body)
			hexSum := hex.EncodeToString(sum[:])
			info, err := client.PutObject(ctx, bucket, keys.Key("pictures", rel, time.Time{}), bytes.NewReader(body), int64(len(body)),
				minio.PutObjectOptions{UserMetadata: map[string]string{wire.MetaSHA256: hexSum}})
			if err != nil {
				return err
			}
			mu.Lock()
			out[rel] = verifyObject{size: int64(len(body)), sha256: hexSum, etag: info.ETag}
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return out
}

type verifyObject struct {
	size         int64
	sha256, etag string
}

// verifyJournal makes a journal with one done row per object.
func verifyJournal(t *testing.T, keys KeyTemplate, objs map[string]verifyObject) *journal.Journal {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), journal.FileName)
	j, err := journal.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := tx.Prepare(`INSERT INTO files (root, path, size, mtime_ns, inode, sha256, state, object_key, etag, created_ns, updated_ns, uploaded_ns)
		VALUES ('pictures', ?, ?, 1, ?, ?, 'done', ?, ?, 1, 1, 1)`)
	if err != nil {
		t.Fatal(err)
	}
	inode := 0
	for rel, o := range objs {
		inode++
		if _, err := stmt.Exec(rel, o.size, inode, o.sha256, keys.Key("pictures", rel, time.Time{}), o.etag); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return j
}

func TestSurvey(t *testing.T) {
	dir := t.TempDir()
	jpg := jpegOf(t)
	for rel, body := range map[string][]byte{
		"a.jpg": jpg, "cache/b.jpg": jpg, "cache/notes.txt": []byte("text"),
		"notes.txt": []byte("text"), "empty.jpg": nil, "known.bin": []byte("not sniffed: tracked"),
	} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := &media.Filter{Kinds: []media.Kind{media.Photo, media.Video}, Exclude: []string{"cache/**"}}
	got := map[string]string{}
	tracked := func(root, rel string) bool { return root == "r" && rel == "known.bin" }
	err := Survey(context.Background(), []Root{{Name: "r", Path: dir}, {Name: "gone", Path: filepath.Join(dir, "nope")}}, f, tracked,
		func(l verify.Local) {
			switch {
			case l.Err != nil:
				got[l.Root+":"+l.Rel] = "error"
			default:
				got[l.Root+":"+l.Rel] = l.Excluded
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"r:a.jpg": "", "r:cache/b.jpg": `excluded by rule "cache/**"`, "r:known.bin": "", "gone:": "error"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
