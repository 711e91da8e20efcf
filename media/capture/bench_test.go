package capture

import (
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

// BenchmarkRead_JPEG2MiB reads a 2 MiB phone JPEG: EXIF, then 2 MiB of
// image data the reader must not touch.
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
