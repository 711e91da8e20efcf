package capture

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/mediatest"
)

// benchRead reads path b.N times and reports the bytes read per call.
func benchRead(b *testing.B, path, source string) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	var read int64
	b.ResetTimer()
	for b.Loop() {
		c := &counter{f: f}
		info := readCounted(c, st.Size(), filepath.Base(path))
		if info.Source != source {
			b.Fatalf("source %q, want %q", info.Source, source)
		}
		read += c.n
	}
	b.ReportMetric(float64(read)/float64(b.N), "read_bytes/op")
}

func readCounted(c *counter, size int64, name string) Info {
	return read(c, size, name, mtime)
}

// BenchmarkRead_JPEG2MiB reads a JPEG followed by 2 MiB of other bytes:
// EXIF, then the JPEG's end, and nothing of what follows.
func BenchmarkRead_JPEG2MiB(b *testing.B) {
	j := mediatest.JPEG(b, 64, 64, mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00", Orientation: 6, Make: "Google", Model: "Pixel 8"})
	j = append(j, make([]byte, 2<<20-len(j))...)
	path := filepath.Join(b.TempDir(), "PXL_20240131_050500123.jpg")
	mediatest.Write(b, path, j, time.Time{})
	benchRead(b, path, wire.CaptureEXIF)
}

// BenchmarkRead_MP4MoovLast200MiB reads a 200 MiB MP4 whose moov follows
// its mdat, as cameras that never rewrite their file leave it.
func BenchmarkRead_MP4MoovLast200MiB(b *testing.B) {
	path := filepath.Join(b.TempDir(), "clip.mp4")
	mediatest.WriteMP4MoovLast(b, path, time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC), 200<<20, time.Time{})
	benchRead(b, path, wire.CaptureVideo)
}

// BenchmarkRead_JPEGNoise reads a 12 MP JPEG of noise (a few MiB of image
// data): to learn whether a video follows it, the reader scans it to its
// end.
func BenchmarkRead_JPEGNoise(b *testing.B) {
	img := image.NewGray(image.Rect(0, 0, 4000, 3000))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.Uint32())
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "IMG_20240131_050500.jpg")
	mediatest.Write(b, path, buf.Bytes(), time.Time{})
	b.ReportMetric(float64(buf.Len()), "file_bytes")
	benchRead(b, path, wire.CaptureName)
}
