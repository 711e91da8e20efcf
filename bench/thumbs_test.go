package bench

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/media/capture"
	"github.com/cloudkeep/cloudkeep/thumb"
)

// realPhotos is the phone-photo set made of decodable JPEGs: 2400×1800,
// quality 92, noise over a gradient, about 2 MiB each, as a phone's
// photos weigh, so that thumbnails cost what they cost on real photos.
var realPhotos = spec{"500 JPEGs of 2400×1800, ~2 MiB", 500, 0, ".jpg"}

// photoData returns n real JPEGs, made the first time (two at a time).
func photoData(tb testing.TB, n int) *dataset {
	tb.Helper()
	s := realPhotos
	if n != s.files {
		s = spec{fmt.Sprintf("%d JPEGs of 2400×1800, ~2 MiB", n), n, 0, ".jpg"}
	}
	dataMu.Lock()
	defer dataMu.Unlock()
	if d := sets[s]; d != nil {
		return d
	}
	if dataDir == "" {
		dir, err := os.MkdirTemp("", "cloudkeep-bench-")
		if err != nil {
			tb.Fatal(err)
		}
		dataDir = dir
	}
	d := &dataset{spec: s, dir: filepath.Join(dataDir, fmt.Sprintf("real-%d", n))}
	if err := os.Mkdir(d.dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	d.files = make([]string, n)
	sizes := make([]int64, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < n; i += 2 {
				d.files[i] = filepath.Join(d.dir, fmt.Sprintf("IMG_%05d.jpg", i))
				b := noisyPhoto(uint64(i + 1))
				sizes[i] = int64(len(b))
				if err := os.WriteFile(d.files[i], b, 0o644); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatal(err)
	}
	for _, n := range sizes {
		d.bytes += n
	}
	sets[s] = d
	return d
}

// noisyPhoto is a 2400×1800 JPEG at quality 92 whose noise (±16 in luma)
// makes it weigh about 2 MiB.
func noisyPhoto(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	img := image.NewYCbCr(image.Rect(0, 0, 2400, 1800), image.YCbCrSubsampleRatio420)
	for y := range 1800 {
		for x := range 2400 {
			v := (x*255/2400+y*255/1800)/2 + r.IntN(33) - 16
			img.Y[y*img.YStride+x] = uint8(min(255, max(0, v)))
		}
	}
	for i := range img.Cb {
		img.Cb[i] = uint8(100 + r.IntN(17))
		img.Cr[i] = uint8(150 - r.IntN(17))
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 92})
	return b.Bytes()
}

// TestThumbsTable runs `cloudkeep backup` on real JPEGs with thumbnails
// off and on (media.thumbnails), interleaved, each into a fresh bucket of
// one MinIO, and prints the best of each. Capture times are read in both
// (capture.Read, always on). It checks that every photo, and with
// thumbnails every thumbnail, was stored; it asserts no timing. Quick on
// 6 photos unless CLOUDKEEP_BENCH=full (500 photos, best of 3).
func TestThumbsTable(t *testing.T) {
	n, reps := 6, 1
	if full() {
		n, reps = realPhotos.files, 3
	}
	d := photoData(t, n)
	srv := miniotest.Start(t)
	minioPID := pidOf("server", srv.Dir)
	bin := benchBinary(t)
	modes := []struct {
		name   string
		on     bool
		config string
	}{
		{"thumbnails off", false, "media: {thumbnails: false}\n"},
		{"thumbnails on", true, "media: {thumbnails: true}\n"},
	}
	runs := make([][]result, len(modes))
	k := 0
	for rep := range reps {
		for i := range modes {
			m := modes[(i+rep)%len(modes)]
			mi := (i + rep) % len(modes)
			k++
			bucket := fmt.Sprintf("thumbs-%03d", k)
			if err := srv.Client.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			config := writeConfig(t, srv, bucket, d.dir, tmp, m.config)
			settle(minioPID)
			runs[mi] = append(runs[mi], measure(t, exec.Command(bin, "backup", "--config", config), minioPID))
			thumbs := countPrefix(t, srv, bucket, "bench/.thumbs/")
			objs, _ := removeBucket(t, srv, bucket)
			want := 0
			if m.on {
				want = n
			}
			if thumbs != want || objs != n+want {
				t.Fatalf("%s: %d objects of which %d thumbnails, want %d photos and %d thumbnails", m.name, objs, thumbs, n, want)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n`cloudkeep backup` of %s (%.0f MB), best of %d, fresh bucket per run, one MinIO on this machine (%s).\n\n",
		d.label, float64(d.bytes)/1e6, reps, machine())
	heads := []string{"mode"}
	for _, c := range columns {
		heads = append(heads, c.head)
	}
	row(&b, heads)
	row(&b, strings.Split(strings.Repeat("---,", len(heads)-1)+"---", ","))
	for i, m := range modes {
		cells := []string{m.name}
		for _, c := range columns {
			cells = append(cells, num(c.best(runs[i], d)))
		}
		row(&b, cells)
	}
	fmt.Print(b.String())
}

// countPrefix counts the objects of bucket under prefix.
func countPrefix(tb testing.TB, srv *miniotest.Server, bucket, prefix string) int {
	n := 0
	for o := range srv.Client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			tb.Fatal(o.Err)
		}
		n++
	}
	return n
}

// BenchmarkCaptureRead reads the capture time of one real 2 MiB JPEG per
// iteration, as the backup does for each photo.
func BenchmarkCaptureRead(b *testing.B) {
	d := photoData(b, 20)
	for i := 0; b.Loop(); i++ {
		if _, err := capture.Read(d.files[i%len(d.files)], time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThumbMake makes the thumbnail of one real 2400×1800 JPEG of
// about 2 MiB per iteration: decode, scale, encode.
func BenchmarkThumbMake(b *testing.B) {
	d := photoData(b, 20)
	b.SetBytes(d.bytes / int64(len(d.files)))
	for i := 0; b.Loop(); i++ {
		if _, err := thumb.Make(d.files[i%len(d.files)], 1); err != nil {
			b.Fatal(err)
		}
	}
}
