// Package bench measures cloudkeep against its peers on the same data,
// against the same MinIO, in the same run: `cloudkeep backup` against
// `mc mirror`, `rclone copy` and plain minio-go (TestPeerTable), the
// agent's close → listed latency (TestLatency), the storage gate
// (BenchmarkGate*) and the agent's start-up (BenchmarkAgentIdle100k).
// `make bench` runs them in full (scripts/bench.sh); `go test` runs one
// quick iteration of the tables on tiny data, asserting no timing.
// BenchmarkUpload* run the uploader in-process, for profiling.
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
	concurrency = 4 // files in flight for plain minio-go
)

// spec describes a data set: files noise files of size bytes each, named
// IMG_NNNNN.ext with a header that makes them sniff as what ext says.
type spec struct {
	label string // as the tables print it
	files int
	size  int64
	ext   string // .jpg or .mp4
}

// The data sets of `make bench`: a video, a phone's photos, smaller
// photos, thumbnails.
var (
	bigVideo    = spec{"1 file of 1 GiB", 1, 1024 * MiB, ".mp4"}
	phonePhotos = spec{"500 files of 2 MiB", 500, 2 * MiB, ".jpg"}
	smallPhotos = spec{"5,000 files of 200 KiB", 5000, 200 << 10, ".jpg"}
	thumbnails  = spec{"10,000 files of 20 KiB", 10000, 20 << 10, ".jpg"}
)

// full reports whether the benchmarks run on their real data
// (CLOUDKEEP_BENCH=full, as `make bench` sets it) rather than one quick
// iteration on tiny data.
func full() bool { return os.Getenv("CLOUDKEEP_BENCH") == "full" }

// dataset is a spec's files on disk, made once per process.
type dataset struct {
	spec
	dir   string
	files []string
	bytes int64
}

var (
	dataMu  sync.Mutex
	dataDir string
	sets    = map[spec]*dataset{}
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(putDirEnv); dir != "" { // this binary as the plain minio-go peer
		os.Exit(putMain(dir))
	}
	code := m.Run()
	if dataDir != "" {
		os.RemoveAll(dataDir)
	}
	os.Exit(code)
}

// newDataset makes the empty folder name of a data set of s, below the
// run's data folder (made the first time); dataMu is held.
func newDataset(tb testing.TB, s spec, name string) *dataset {
	tb.Helper()
	if dataDir == "" {
		dir, err := os.MkdirTemp("", "cloudkeep-bench-")
		if err != nil {
			tb.Fatal(err)
		}
		dataDir = dir
	}
	d := &dataset{spec: s, dir: filepath.Join(dataDir, name)}
	if err := os.Mkdir(d.dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return d
}

// data returns the files of s, writing them the first time.
func data(tb testing.TB, s spec) *dataset {
	tb.Helper()
	dataMu.Lock()
	defer dataMu.Unlock()
	if d := sets[s]; d != nil {
		return d
	}
	d := newDataset(tb, s, fmt.Sprintf("%dx%d%s", s.files, s.size, s.ext))
	for i := range s.files {
		if err := d.add(filepath.Join(d.dir, fmt.Sprintf("IMG_%05d%s", i, s.ext)), s.size, uint64(i+1)); err != nil {
			tb.Fatal(err)
		}
	}
	sets[s] = d
	return d
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
	_, err = io.Copy(f, noise(path, size, seed))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	d.files = append(d.files, path)
	d.bytes += size
	return err
}

// noise returns size bytes of seeded noise behind the header for path's
// extension.
func noise(path string, size int64, seed uint64) io.Reader {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	return io.LimitReader(io.MultiReader(strings.NewReader(headers[filepath.Ext(path)]), r), size)
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

// plainMinio is PutObject with minio-go's defaults, as its README shows.
func plainMinio(client *minio.Client, bucket string) peer {
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
		_, err = client.PutObject(ctx, bucket, key, f, fi.Size(), minio.PutObjectOptions{})
		return err
	}
}

// benchUpload runs cloudkeep's uploader and plain minio-go in this
// process, for profiling (-cpuprofile) the uploader alone.
func benchUpload(b *testing.B, s spec) {
	d := data(b, s)
	srv := miniotest.Start(b)
	for _, p := range []struct {
		name string
		peer func() peer
	}{
		{"cloudkeep", func() peer { return cloudkeep(b, srv) }},
		{"minio-go", func() peer { return plainMinio(srv.Client, srv.Bucket) }},
	} {
		b.Run(p.name, func(b *testing.B) {
			send := p.peer()
			b.SetBytes(d.bytes)
			for i := 0; b.Loop(); i++ {
				if err := uploadAll(send, d.files, fmt.Sprintf("%s/%d/", p.name, i)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				empty(b, srv)
				b.StartTimer()
			}
		})
	}
}

// uploadAll sends files under prefix, concurrency at a time.
func uploadAll(send peer, files []string, prefix string) error {
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(concurrency)
	for _, path := range files {
		g.Go(func() error { return send(ctx, path, prefix+filepath.Base(path)) })
	}
	return g.Wait()
}

func empty(tb testing.TB, srv *miniotest.Server) {
	ctx := context.Background()
	objs := srv.Client.ListObjects(ctx, srv.Bucket, minio.ListObjectsOptions{Recursive: true})
	for err := range srv.Client.RemoveObjects(ctx, srv.Bucket, objs, minio.RemoveObjectsOptions{}) {
		tb.Fatal(err.Err)
	}
}

func BenchmarkUpload1GiB(b *testing.B)     { benchUpload(b, bigVideo) }
func BenchmarkUpload500x2MiB(b *testing.B) { benchUpload(b, phonePhotos) }
