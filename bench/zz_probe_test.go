package bench

// PROBE: temporary, remove.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/auth"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

type timedStore struct {
	storage.Storage
	put, n atomic.Int64
}

func (t *timedStore) PutPart(ctx context.Context, key, uploadID string, number int, body io.ReadSeeker, size int64, crc32c string) (storage.Part, error) {
	t0 := time.Now()
	p, err := t.Storage.PutPart(ctx, key, uploadID, number, body, size, crc32c)
	t.put.Add(int64(time.Since(t0)))
	t.n.Add(1)
	return p, err
}

func BenchmarkProbe(b *testing.B) {
	d := data(b, "1GiB")
	srv := miniotest.Start(b)
	g := startGate(b, srv)
	os.WriteFile("/tmp/ck-gate.pid", []byte(fmt.Sprint(g.pid)), 0o644)
	mode := os.Getenv("PROBE_MODE")
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		empty(b, srv)
		j, _ := journal.Open(context.Background(), filepath.Join(b.TempDir(), "journal.db"))
		var inner storage.Storage
		key := "bench/x/big.mp4"
		if mode == "static" {
			inner = storage.NewDirect(srv.Client, srv.Bucket)
		} else {
			sess := auth.NewSession(auth.File{Path: filepath.Join(g.state, auth.FileName)}, g.url, "cloudkeep-agent")
			inner = storage.NewGranted(g.url, sess, zerolog.Nop())
			key = sess.AccountID() + "/x/big.mp4"
		}
		ts := &timedStore{Storage: inner}
		st := storage.WithRetry(ts, storage.DefaultBackoff, zerolog.Nop(), nil)
		up := uploader.New(st, j, uploader.Config{Device: "bench", PartSize: 16 * MiB, Threshold: 16 * MiB, PartsInFlight: 4}, zerolog.Nop())
		fi, _ := os.Stat(d.files[0])
		row, _, _ := j.Track(context.Background(), "bench", "x", journal.IdentityOf(fi))
		storage.ProbeGrant.Store(0)
		storage.ProbePut.Store(0)
		
		
		var f *os.File
		if p := os.Getenv("PROBE_PROF"); p != "" && i == 0 {
			f, _ = os.Create(p)
			pprof.StartCPUProfile(f)
		}
		b.StartTimer()
		t0 := time.Now()
		if _, err := up.Upload(context.Background(), uploader.Job{FileID: row.ID, Path: d.files[0], Key: key}); err != nil {
			b.Fatal(err)
		}
		el := time.Since(t0)
		b.StopTimer()
		if f != nil {
			pprof.StopCPUProfile()
			f.Close()
		}
		b.Logf("%s: %v, %.0f MB/s, partput %v, grant total %v, put total %v", mode, el, float64(d.bytes)/el.Seconds()/1e6, time.Duration(ts.put.Load()),
			time.Duration(storage.ProbeGrant.Load()), time.Duration(storage.ProbePut.Load()))
		j.Close()
		b.StartTimer()
	}
}
