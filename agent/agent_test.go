package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

// newTestAgent builds, without starting it, an agent on a fresh folder
// against a real MinIO, uploading with upCfg and retrying with backoff.
func newTestAgent(t *testing.T, upCfg uploader.Config, backoff storage.Backoff) (*Agent, *miniotest.Server, string) {
	t.Helper()
	srv := miniotest.Start(t)
	dir := t.TempDir()
	photos := filepath.Join(dir, "Pictures")
	os.MkdirAll(photos, 0o755)
	j, err := journal.Open(context.Background(), filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	st := storage.WithRetry(storage.NewDirect(srv.Client, srv.Bucket), backoff, zerolog.Nop(), nil)
	a := &Agent{
		Roots:          []Root{{Name: "pictures", Path: photos}},
		Filter:         &media.Filter{Kinds: []media.Kind{media.Photo, media.Video}},
		Keys:           KeyTemplate{Template: "{user}/{device}/{root}/{path}", User: "alice", Device: "laptop"},
		Journal:        j,
		Uploader:       uploader.New(st, j, upCfg, zerolog.Nop()),
		Device:         "laptop",
		Files:          2,
		Threshold:      5 << 20,
		Settle:         100 * time.Millisecond,
		RescanInterval: time.Hour,
		PollInterval:   time.Hour,
		ShutdownGrace:  time.Second,
		Socket:         filepath.Join(dir, "control.sock"),
		Log:            zerolog.Nop(),
	}
	return a, srv, photos
}

// startAgent runs an agent on a fresh folder against a real MinIO.
func startAgent(t *testing.T, tune func(*Agent), upTune ...func(*uploader.Config)) (*Agent, *miniotest.Server, string) {
	t.Helper()
	upCfg := uploader.Config{Device: "laptop", PartSize: 5 << 20, Threshold: 5 << 20, PartsInFlight: 4}
	for _, f := range upTune {
		f(&upCfg)
	}
	a, srv, photos := newTestAgent(t, upCfg, storage.Backoff{Attempts: 3, Base: 10 * time.Millisecond, Cap: 50 * time.Millisecond})
	if tune != nil {
		tune(a)
	}
	a.Init()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-a.Scanned():
	case err := <-done:
		t.Fatalf("agent stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the first scan did not finish")
	}
	return a, srv, photos
}

var photoBytes = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00photo")

func waitStored(t *testing.T, srv *miniotest.Server, key string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := srv.Client.StatObject(context.Background(), srv.Bucket, key, minio.StatObjectOptions{}); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not stored", key)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Lost events (a kernel queue overflow) are recovered by a rescan.
func TestAgent_OverflowRescans(t *testing.T) {
	a, srv, photos := startAgent(t, nil)
	sub := filepath.Join(photos, "sub")
	os.Mkdir(sub, 0o755)
	time.Sleep(200 * time.Millisecond) // the watcher adds sub
	if err := a.watch.fs.Remove(sub); err != nil {
		t.Fatalf("unwatch: %v", err)
	}
	os.WriteFile(filepath.Join(sub, "lost.jpg"), photoBytes, 0o644) // no event reaches the agent
	time.Sleep(300 * time.Millisecond)
	if _, err := srv.Client.StatObject(context.Background(), srv.Bucket, "alice/laptop/pictures/sub/lost.jpg", minio.StatObjectOptions{}); err == nil {
		t.Fatal("set-up: the file was seen without a rescan")
	}
	a.watch.handleError(fsnotify.ErrEventOverflow)
	waitStored(t, srv, "alice/laptop/pictures/sub/lost.jpg")
}

// When the watch limit is reached, the folders left unwatched are polled.
func TestAgent_WatchLimitFallsBackToPolling(t *testing.T) {
	a, srv, photos := startAgent(t, func(a *Agent) {
		os.MkdirAll(filepath.Join(a.Roots[0].Path, "a", "b", "c", "d"), 0o755)
		a.MaxWatches = 2
		a.PollInterval = 200 * time.Millisecond
	})
	st := a.Status()
	if len(st.Roots) != 1 || !st.Roots[0].Fallback || st.Roots[0].Watches != 2 {
		t.Fatalf("root health: got %+v, want 2 watches and the fallback on", st.Roots)
	}
	os.WriteFile(filepath.Join(photos, "a", "b", "c", "d", "deep.jpg"), photoBytes, 0o644)
	waitStored(t, srv, "alice/laptop/pictures/a/b/c/d/deep.jpg")
}

// A root that does not exist at start is watched once it appears.
func TestAgent_MissingRootIsRetried(t *testing.T) {
	var root string
	a, srv, _ := startAgent(t, func(a *Agent) {
		root = filepath.Join(filepath.Dir(a.Roots[0].Path), "Camera")
		a.Roots = append(a.Roots, Root{Name: "camera", Path: root})
		a.PollInterval = 200 * time.Millisecond
	})
	if st := a.Status(); st.Roots[1].Exists {
		t.Fatalf("camera root: got %+v, want missing", st.Roots[1])
	}
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "IMG_1.jpg"), photoBytes, 0o644)
	waitStored(t, srv, "alice/laptop/camera/IMG_1.jpg")
	if st := a.Status(); !st.Roots[1].Exists || st.Roots[1].Watches != 1 {
		t.Errorf("camera root: got %+v, want watched", st.Roots[1])
	}
}

// Pause stops uploads but not watching; resume catches up.
func TestAgent_PauseResume(t *testing.T) {
	a, srv, photos := startAgent(t, nil)
	c := NewClient(a.Socket)
	if err := c.Pause(context.Background()); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(photos, "p.jpg"), photoBytes, 0o644)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := c.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Queue.Files == 1 {
			if st.State != StatePaused {
				t.Errorf("state: got %q, want paused", st.State)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the file was not queued while paused: %+v", st.Queue)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitStored(t, srv, "alice/laptop/pictures/p.jpg")
}

// A second agent on the same state refuses to start.
func TestAgent_SingleInstance(t *testing.T) {
	a, _, _ := startAgent(t, nil)
	b := *a
	b.ready = nil
	err := b.Run(context.Background())
	if err == nil || err.Error() != "another cloudkeep agent is running (control socket "+a.Socket+")" {
		t.Errorf("got %v", err)
	}
	if fi, err := os.Stat(a.Socket); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}

// A watched root moved away as a whole (one event, for the root itself)
// marks all its files deleted in the journal; the backup stays.
func TestAgent_RootMovedAwayMarksFilesGone(t *testing.T) {
	a, srv, photos := startAgent(t, func(a *Agent) { os.MkdirAll(filepath.Join(a.Roots[0].Path, "sub"), 0o755) })
	for _, rel := range []string{"a.jpg", "sub/b.jpg"} {
		os.WriteFile(filepath.Join(photos, filepath.FromSlash(rel)), photoBytes, 0o644)
		waitStored(t, srv, "alice/laptop/pictures/"+rel)
	}
	if err := os.Rename(photos, photos+".old"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for _, rel := range []string{"a.jpg", "sub/b.jpg"} {
		for {
			f, err := a.Journal.Lookup(ctx, "pictures", rel)
			if err == nil && f.State == journal.Deleted {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: got %s, %v; want %s", rel, f.State, err, journal.Deleted)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
