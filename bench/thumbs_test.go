package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	d := newDataset(tb, s, fmt.Sprintf("real-%d", n))
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

// TestThumbsTable measures what thumbnails cost on real JPEGs, with
// thumbnails off and on (media.thumbnails), interleaved, each run into a
// fresh bucket of one MinIO, and prints the best of each:
//
//   - `cloudkeep backup`: the time, CPU and peak RSS until every original
//     is stored (its "backup finished" line: thumbnails come after it),
//     then those of the thumbnail phase;
//   - `cloudkeep run`: from its start until every original is stored (one
//     "uploaded" line each), then until every thumbnail is.
//
// Capture times are read in both (always on). It checks that every photo,
// and with thumbnails every thumbnail, was stored; it asserts no timing.
// Quick on 6 photos unless CLOUDKEEP_BENCH=full (500 photos, best of 3).
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
	backups := make([][]thumbRun, len(modes))
	agents := make([][]thumbRun, len(modes))
	k := 0
	for rep := range reps {
		for i := range modes {
			mi := (i + rep) % len(modes)
			m := modes[mi]
			for _, agent := range []bool{false, true} {
				k++
				bucket := fmt.Sprintf("thumbs-%03d", k)
				if err := srv.Client.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
					t.Fatal(err)
				}
				tmp := t.TempDir()
				config := writeConfig(t, srv, bucket, d.dir, tmp, "log: {level: info, format: json}\n"+m.config)
				settle(minioPID)
				if agent {
					agents[mi] = append(agents[mi], runAgentThumbs(t, bin, config, srv, bucket, n, m.on))
				} else {
					backups[mi] = append(backups[mi], runBackupThumbs(t, exec.Command(bin, "backup", "--config", config)))
				}
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
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nThumbnails on %s (%.0f MB), best of %d, fresh bucket per run, one MinIO on this machine (%s).\n",
		d.label, float64(d.bytes)/1e6, reps, machine())
	fmt.Fprintf(&b, "\n`cloudkeep backup`: until every original is stored, then the thumbnail phase.\n\n")
	thumbTable(&b, d, backupColumns, modeRuns{modes[0].name, backups[0]}, modeRuns{modes[1].name, backups[1]})
	fmt.Fprintf(&b, "\n`cloudkeep run`: from its start until every original is stored, then every thumbnail.\n\n")
	thumbTable(&b, d, agentColumns, modeRuns{modes[0].name, agents[0]}, modeRuns{modes[1].name, agents[1]})
	fmt.Print(b.String())
}

// thumbRun is one run of TestThumbsTable: the marks of its originals
// stored and of its thumbnails (from their start for a backup; zero when
// none were made), and its whole cost.
type thumbRun struct {
	stored, thumbs mark
	cpu, rss       float64 // whole run: CPU s, peak RSS MiB
}

// mark is a point of a run: the seconds since its start (or that of its
// phase), and the CPU seconds and peak RSS (MiB) the program had used.
type mark struct {
	wall, cpu, rss float64
}

// markOf notes where process pid stands, start seconds ago.
func markOf(pid int, start time.Time) mark {
	return mark{time.Since(start).Seconds(), cpuOf(pid).Seconds(), float64(peakRSSOf(pid)) / (1 << 20)}
}

// peakRSSOf returns the peak resident memory of process pid in bytes
// (VmHWM), 0 when it cannot be read.
func peakRSSOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib << 10
		}
	}
	return 0
}

// logLines starts cmd and hands each line of its JSON log to seen, with
// the process's ID, until it ends; then it returns the CPU seconds and the
// peak RSS (MiB) of the whole run.
func logLines(tb testing.TB, cmd *exec.Cmd, seen func(pid int, m map[string]any)) (float64, float64) {
	tb.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	var logged strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			seen(cmd.Process.Pid, m)
		} else {
			logged.Write(sc.Bytes())
		}
	}
	if err := cmd.Wait(); err != nil {
		tb.Fatalf("%s: %v\n%s%s", strings.Join(cmd.Args, " "), err, tail(out.String()), tail(logged.String()))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return cpuSeconds(ru), float64(ru.Maxrss) / 1024
}

// runBackupThumbs runs a backup and marks its "backup finished" line (the
// originals are stored) and the end of its thumbnail phase, measured from
// its "making thumbnails" line.
func runBackupThumbs(tb testing.TB, cmd *exec.Cmd) thumbRun {
	tb.Helper()
	var r thumbRun
	var phase mark
	start := time.Now()
	r.cpu, r.rss = logLines(tb, cmd, func(pid int, m map[string]any) {
		switch m["message"] {
		case "backup finished":
			r.stored = markOf(pid, start)
		case "making thumbnails":
			phase = markOf(pid, start)
		case "thumbnails made":
			end := markOf(pid, start)
			r.thumbs = mark{end.wall - phase.wall, end.cpu - phase.cpu, end.rss}
		}
	})
	if r.stored.wall == 0 {
		tb.Fatal("the backup logged no \"backup finished\"")
	}
	return r
}

// runAgentThumbs runs the agent until it stored the n originals (one
// "uploaded" line each) and, with thumbnails, their n thumbnails (the
// bucket is listed for them once the originals are stored), then stops it.
func runAgentThumbs(tb testing.TB, bin, config string, srv *miniotest.Server, bucket string, n int, thumbs bool) thumbRun {
	tb.Helper()
	var r thumbRun
	cmd := exec.Command(bin, "run", "--config", config)
	start := time.Now()
	uploaded := 0
	done := make(chan mark, 1)
	limit := time.AfterFunc(10*time.Minute, func() { cmd.Process.Kill() })
	defer limit.Stop()
	r.cpu, r.rss = logLines(tb, cmd, func(pid int, m map[string]any) {
		if m["message"] != "uploaded" {
			return
		}
		if uploaded++; uploaded != n {
			return
		}
		r.stored = markOf(pid, start)
		go func() {
			var end mark
			for thumbs && countPrefix(tb, srv, bucket, "bench/.thumbs/") < n {
				time.Sleep(100 * time.Millisecond)
			}
			if thumbs {
				end = markOf(pid, start)
			}
			done <- end
			cmd.Process.Signal(syscall.SIGTERM)
		}()
	})
	if uploaded < n {
		tb.Fatalf("the agent logged %d uploads, want %d", uploaded, n)
	}
	r.thumbs = <-done
	return r
}

// thumbColumn is one measure of a thumbnails table.
type thumbColumn struct {
	head   string
	higher bool // more is better
	value  func(r thumbRun, d *dataset) float64
}

var backupColumns = []thumbColumn{
	{"originals stored s", false, func(r thumbRun, _ *dataset) float64 { return r.stored.wall }},
	{"MB/s", true, func(r thumbRun, d *dataset) float64 { return float64(d.bytes) / 1e6 / r.stored.wall }},
	{"files/s", true, func(r thumbRun, d *dataset) float64 { return float64(len(d.files)) / r.stored.wall }},
	{"CPU s", false, func(r thumbRun, _ *dataset) float64 { return r.stored.cpu }},
	{"peak RSS MiB", false, func(r thumbRun, _ *dataset) float64 { return r.stored.rss }},
	{"thumbnail phase s", false, func(r thumbRun, _ *dataset) float64 { return r.thumbs.wall }},
	{"thumbnails/s", true, func(r thumbRun, d *dataset) float64 { return rate(len(d.files), r.thumbs.wall) }},
	{"thumbnail CPU s", false, func(r thumbRun, _ *dataset) float64 { return r.thumbs.cpu }},
	{"whole CPU s", false, func(r thumbRun, _ *dataset) float64 { return r.cpu }},
	{"whole peak RSS MiB", false, func(r thumbRun, _ *dataset) float64 { return r.rss }},
}

var agentColumns = []thumbColumn{
	{"originals stored s", false, func(r thumbRun, _ *dataset) float64 { return r.stored.wall }},
	{"MB/s", true, func(r thumbRun, d *dataset) float64 { return float64(d.bytes) / 1e6 / r.stored.wall }},
	{"files/s", true, func(r thumbRun, d *dataset) float64 { return float64(len(d.files)) / r.stored.wall }},
	{"CPU s", false, func(r thumbRun, _ *dataset) float64 { return r.stored.cpu }},
	{"peak RSS MiB", false, func(r thumbRun, _ *dataset) float64 { return r.stored.rss }},
	{"thumbnails stored s", false, func(r thumbRun, _ *dataset) float64 { return r.thumbs.wall }},
	{"thumbnail CPU s", false, func(r thumbRun, _ *dataset) float64 { return max(r.thumbs.cpu-r.stored.cpu, 0) }},
	{"whole CPU s", false, func(r thumbRun, _ *dataset) float64 { return r.cpu }},
	{"whole peak RSS MiB", false, func(r thumbRun, _ *dataset) float64 { return r.rss }},
}

// rate is n per s; 0 when nothing was timed.
func rate(n int, s float64) float64 {
	if s <= 0 {
		return 0
	}
	return float64(n) / s
}

// modeRuns are the runs of one mode of a thumbnails table.
type modeRuns struct {
	name string
	runs []thumbRun
}

// thumbTable writes the best value of each column for each mode, then
// every run's time until the originals were stored, to judge the noise.
func thumbTable(b *strings.Builder, d *dataset, cols []thumbColumn, modes ...modeRuns) {
	heads := []string{"mode"}
	for _, c := range cols {
		heads = append(heads, c.head)
	}
	row(b, heads)
	row(b, strings.Split(strings.Repeat("---,", len(heads)-1)+"---", ","))
	for _, m := range modes {
		cells := []string{m.name}
		for _, c := range cols {
			v := c.value(m.runs[0], d)
			for _, r := range m.runs[1:] {
				if x := c.value(r, d); (x > v) == c.higher {
					v = x
				}
			}
			cells = append(cells, num(v))
		}
		row(b, cells)
	}
	for _, m := range modes {
		var each []string
		for _, r := range m.runs {
			each = append(each, num(r.stored.wall))
		}
		fmt.Fprintf(b, "\n%s, originals stored s of each run: %s", m.name, strings.Join(each, ", "))
	}
	b.WriteString("\n")
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
