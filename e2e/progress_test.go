package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// versions counts the versions of key in a bucket with versioning on: one
// per write of the object, so a copy onto itself shows as a second.
func (w *world) versions(key string) int {
	w.t.Helper()
	n := 0
	opts := minio.ListObjectsOptions{Prefix: key, WithVersions: true}
	for o := range w.srv.Client.ListObjects(context.Background(), w.srv.Bucket, opts) {
		if o.Err != nil {
			w.t.Fatal(o.Err)
		}
		n++
	}
	return n
}

// A video uploaded in parts by `backup` is written once, with its sha256,
// in static-key and in account mode: the bucket (versioned) holds one
// version of it.
func TestBackup_MultipartStoredOnce(t *testing.T) {
	for _, mode := range []string{"static", "account"} {
		t.Run(mode, func(t *testing.T) {
			var w *world
			key := "alice/laptop/pictures/movie.mp4"
			if mode == "static" {
				w = newWorld(t)
			} else {
				s := startStack(t, stackOptions{})
				id := s.signup("alice@example.com", "alice-pass-1")
				w = newWorldOn(t, s.srv, s.url)
				w.login(s, "alice@example.com", "alice-pass-1", "alice@example.com")
				key = id + "/laptop/pictures/movie.mp4"
			}
			if err := w.srv.Client.EnableVersioning(context.Background(), w.srv.Bucket); err != nil {
				t.Fatal(err)
			}
			sum := w.file("movie.mp4", mp4Header, 23*MiB, 4)
			if res := w.run("backup"); res.code != 0 {
				t.Fatalf("backup exited %d: %s %s", res.code, res.stdout, res.stderr)
			}
			if got := w.objects()[key]; got != sum || w.contentSHA256(key) != sum {
				t.Errorf("object %s: metadata sha256 %q, want %s", key, got, sum)
			}
			if n := w.versions(key); n != 1 {
				t.Errorf("%d versions of %s, want 1 (written once)", n, key)
			}
		})
	}
}

// The agent's status reports an upload's bytes as they go out: with a
// bandwidth limit, above 0 before the first part is stored, never more
// than the storage received plus one part, never 100% before the upload
// ends. Killed and started again, the agent resumes at the parts stored,
// and the log's rate counts only the bytes sent after the restart.
func TestRun_ProgressCountsBytesSent(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "what the agent shows")
	w := newWorld(t)
	const size = 30 * MiB
	sum := w.file("movie.mp4", mp4Header, size, 12)
	// Slow enough that status is sampled several times before the first
	// part is stored, even on a loaded machine.
	w.writeConfig("  bandwidth_limit: 2MiB/s\n  concurrency: {files: 1, parts: 2}\n")
	r := w.startAgent()
	early, samples := false, 0
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the journal never held 2 parts")
		}
		parts := w.journalCount(`SELECT count(*) FROM parts`)
		st, ok := r.status()
		if !ok || len(st.Uploads) == 0 {
			continue
		}
		samples++
		done, received := st.Uploads[0].Done, w.proxy.Sent()
		if done > received+5*MiB {
			t.Errorf("status says %d bytes done, the storage received %d", done, received)
		}
		if done >= size {
			t.Errorf("status says %d of %d bytes done with %d parts stored", done, size, parts)
		}
		if done > 0 && parts == 0 {
			early = true
		}
		if parts >= 2 {
			break
		}
	}
	if !early {
		t.Errorf("status showed no progress before the first part was stored (%d samples)", samples)
	}
	r.kill()
	parts := w.journalCount(`SELECT count(*) FROM parts`)

	// Slow enough that the rest takes seconds: status is sampled before it ends.
	w.writeConfig("  bandwidth_limit: 3MiB/s\n  concurrency: {files: 1, parts: 2}\n")
	r = w.startAgent()
	var first int64 = -1
	w.eventually(30*time.Second, "the resumed upload shows in status", func() bool {
		st, ok := r.status()
		if ok && len(st.Uploads) > 0 {
			first = st.Uploads[0].Done
		}
		return first >= 0
	})
	if stored := int64(parts) * 5 * MiB; first < stored || first > stored+2*5*MiB {
		t.Errorf("resumed upload started at %d bytes, want the %d bytes of the %d parts stored (plus at most the parts in flight)", first, stored, parts)
	}
	w.eventually(30*time.Second, "the upload ends", func() bool { return w.objects()["alice/laptop/pictures/movie.mp4"] == sum })
	// The object lists a moment before the agent logs it.
	w.eventually(10*time.Second, "the agent logs the upload", func() bool {
		return strings.Contains(r.logs.String(), `"message":"uploaded"`)
	})
	line := uploadedLine(t, r.logs.String())
	remainder := float64(size - int64(parts)*5*MiB)
	wantRate := remainder / (line.DurationMS / 1000) / MiB
	if line.SentBytes <= 0 || line.SentBytes > int64(remainder) || line.MiBPerS <= 0 ||
		line.MiBPerS > wantRate*1.1+0.1 || line.MiBPerS > 3*1.2 {
		t.Errorf("resumed upload logged %d bytes sent at %.1f MiB/s in %.0f ms; want at most the remainder %.0f at %.1f MiB/s, under the 3 MiB/s limit",
			line.SentBytes, line.MiBPerS, line.DurationMS, remainder, wantRate)
	}
	t.Logf("resumed after %d parts at %d bytes; logged %d bytes sent in %.0f ms at %.1f MiB/s",
		parts, first, line.SentBytes, line.DurationMS, line.MiBPerS)
	r.stop()
}

type uploaded struct {
	Msg        string  `json:"message"`
	SentBytes  int64   `json:"sent_bytes"`
	DurationMS float64 `json:"duration_ms"`
	MiBPerS    float64 `json:"mib_per_s"`
}

// uploadedLine returns the log's "uploaded" line.
func uploadedLine(t *testing.T, logs string) uploaded {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l uploaded
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "uploaded" {
			return l
		}
	}
	t.Fatalf("no uploaded line in the log:\n%s", logs)
	return uploaded{}
}
