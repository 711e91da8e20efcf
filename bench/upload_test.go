// Package bench compares cloudkeep's uploader with the plain minio-go
// client on the same data, against the same MinIO, in the same run.
// Run with `make bench` (scripts/bench.sh prints the ratios).
package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
	"github.com/cloudkeep/cloudkeep/uploader"
)

const (
	MiB         = 1 << 20
	concurrency = 4 // files in flight for the many-files set, both peers
)

// dataset is a set of files on disk, made once per process.
type dataset struct {
	name  string
	files []string
	bytes int64
}

var (
	dataOnce sync.Once
	dataDir  string
	sets     map[string]*dataset
	dataErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if dataDir != "" {
		os.RemoveAll(dataDir)
	}
	os.Exit(code)
}

func data(b *testing.B, name string) *dataset {
	b.Helper()
	dataOnce.Do(func() {
		dataDir, dataErr = os.MkdirTemp("", "cloudkeep-bench-")
		if dataErr != nil {
			return
		}
		sets = map[string]*dataset{"1GiB": {name: "1GiB"}, "500x2MiB": {name: "500x2MiB"}}
		for name := range sets {
			if dataErr == nil {
				dataErr = os.Mkdir(filepath.Join(dataDir, name), 0o755)
			}
		}
		if dataErr == nil {
			dataErr = sets["1GiB"].add(filepath.Join(dataDir, "1GiB", "big.mp4"), 1024*MiB, 0)
		}
		for i := range 500 {
			if dataErr == nil {
				dataErr = sets["500x2MiB"].add(filepath.Join(dataDir, "500x2MiB", fmt.Sprintf("IMG_%04d.jpg", i)), 2*MiB, uint64(i+1))
			}
		}
	})
	if dataErr != nil {
		b.Fatal(dataErr)
	}
	return sets[name]
}

// Headers that make the noise files sniff as what their names say.
var headers = map[string]string{
	".mp4": "\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
	".jpg": "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
}

func (d *dataset) add(path string, size int64, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	noise := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	body := io.MultiReader(strings.NewReader(headers[filepath.Ext(path)]), noise)
	_, err = io.Copy(f, io.LimitReader(body, size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	d.files = append(d.files, path)
	d.bytes += size
	return err
}

// peer uploads one file under key.
type peer func(ctx context.Context, path, key string) error

func cloudkeep(b *testing.B, srv *miniotest.Server) peer {
	j, err := journal.Open(context.Background(), filepath.Join(b.TempDir(), "journal.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	st := storage.WithRetry(storage.NewDirect(srv.Client, srv.Bucket), storage.DefaultBackoff, zerolog.Nop(), nil)
	up := uploader.New(st, j, uploader.Config{
		Device: "bench", PartSize: 16 * MiB, Threshold: 16 * MiB, PartsInFlight: 4,
	}, zerolog.Nop())
	var id int64
	var mu sync.Mutex
	return func(ctx context.Context, path, key string) error {
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		mu.Lock()
		id++
		row, _, err := j.Track(ctx, "bench", fmt.Sprint(id), journal.IdentityOf(fi))
		mu.Unlock()
		if err != nil {
			return err
		}
		_, err = up.Upload(ctx, uploader.Job{FileID: row.ID, Path: path, Key: key})
		return err
	}
}

func plainMinio(srv *miniotest.Server) peer {
	return func(ctx context.Context, path, key string) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		_, err = srv.Client.PutObject(ctx, srv.Bucket, key, f, fi.Size(), minio.PutObjectOptions{})
		return err
	}
}

func benchUpload(b *testing.B, set string) {
	d := data(b, set)
	srv := miniotest.Start(b)
	for _, p := range []struct {
		name string
		peer func() peer
	}{
		{"cloudkeep", func() peer { return cloudkeep(b, srv) }},
		{"minio-go", func() peer { return plainMinio(srv) }},
	} {
		b.Run(p.name, func(b *testing.B) {
			send := p.peer()
			b.SetBytes(d.bytes)
			for i := 0; b.Loop(); i++ {
				if err := uploadAll(send, d, fmt.Sprintf("%s/%d/", p.name, i)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				empty(b, srv)
				b.StartTimer()
			}
		})
	}
}

func uploadAll(send peer, d *dataset, prefix string) error {
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(concurrency)
	for _, path := range d.files {
		g.Go(func() error { return send(ctx, path, prefix+filepath.Base(path)) })
	}
	return g.Wait()
}

func empty(b *testing.B, srv *miniotest.Server) {
	ctx := context.Background()
	objs := srv.Client.ListObjects(ctx, srv.Bucket, minio.ListObjectsOptions{Recursive: true})
	for err := range srv.Client.RemoveObjects(ctx, srv.Bucket, objs, minio.RemoveObjectsOptions{}) {
		b.Fatal(err.Err)
	}
}

func BenchmarkUpload1GiB(b *testing.B)     { benchUpload(b, "1GiB") }
func BenchmarkUpload500x2MiB(b *testing.B) { benchUpload(b, "500x2MiB") }
