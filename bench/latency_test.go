package bench

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/internal/testbin"
)

// watcher is a program that keeps folder backed up into bucket until
// stop is called.
type watcher struct {
	name  string
	start func(tb testing.TB, srv *miniotest.Server, bucket, folder string) (stop func())
}

// cloudkeepRun is `cloudkeep run` with settle at its default, and with
// the extra config keys.
func cloudkeepRun(name, extra string) watcher {
	return watcher{name, func(tb testing.TB, srv *miniotest.Server, bucket, folder string) func() {
		p := startAgent(tb, srv, bucket, folder, tb.TempDir(), extra)
		p.waitFor(tb, "scanned")
		go func() {
			for range p.lines {
			}
		}()
		return func() { p.stop() }
	}}
}

// mcWatch is `mc mirror --watch`.
func mcWatch(bin string) watcher {
	return watcher{"mc mirror --watch", func(tb testing.TB, srv *miniotest.Server, bucket, folder string) func() {
		cmd := mcCommand(bin, srv, tb.TempDir(), "mirror", "--watch", folder, "bench/"+bucket)
		var out testbin.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		return func() {
			miniotest.Stop(cmd)
			if tb.Failed() {
				tb.Logf("mc mirror --watch:\n%s", tail(out.String()))
			}
		}
	}}
}

// scenario makes files in a watched folder, one started every so often;
// write makes the i-th and returns its name once it is closed (or moved
// in), the moment its latency counts from.
type scenario struct {
	label string
	files int
	every time.Duration
	write func(tb testing.TB, folder, staging string, i int) string
}

// scenarios returns the three ways files arrive, quick on tiny data unless
// CLOUDKEEP_BENCH=full.
func scenarios() []scenario {
	photos, photoSize := 5, int64(20<<10)
	videos, videoSize, chunk, pause := 2, int64(256<<10), int64(64<<10), 50*time.Millisecond
	if full() {
		photos, photoSize = 200, 200<<10
		videos, videoSize, chunk, pause = 10, 24*MiB, MiB, 100*time.Millisecond // 10 MiB/s
	}
	return []scenario{
		{fmt.Sprintf("%d photos of %s moved in, one every 50 ms", photos, sizeText(photoSize)), photos, 50 * time.Millisecond,
			func(tb testing.TB, folder, staging string, i int) string {
				name := fmt.Sprintf("MOVED_%04d.jpg", i)
				writeNoise(tb, filepath.Join(staging, name), photoSize, uint64(i+1))
				if err := os.Rename(filepath.Join(staging, name), filepath.Join(folder, name)); err != nil {
					tb.Fatal(err)
				}
				return name
			}},
		{fmt.Sprintf("%d photos of %s written in place, one every 50 ms", photos, sizeText(photoSize)), photos, 50 * time.Millisecond,
			func(tb testing.TB, folder, _ string, i int) string {
				name := fmt.Sprintf("SAVED_%04d.jpg", i)
				writeNoise(tb, filepath.Join(folder, name), photoSize, uint64(i+1))
				return name
			}},
		{fmt.Sprintf("%d videos of %s copied at %s MiB/s, one after another", videos, sizeText(videoSize), num(float64(chunk)/MiB/pause.Seconds())), videos, 0,
			func(tb testing.TB, folder, _ string, i int) string {
				name := fmt.Sprintf("VID_%04d.mp4", i)
				copySlowly(tb, filepath.Join(folder, name), videoSize, chunk, pause, uint64(i+1))
				return name
			}},
	}
}

// copySlowly writes size bytes of noise to path, chunk bytes at a time
// with pause between them, as a copy from a slow card would.
func copySlowly(tb testing.TB, path string, size, chunk int64, pause time.Duration, seed uint64) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	src := noise(path, size, seed)
	for done := int64(0); done < size; done += chunk {
		if done > 0 {
			time.Sleep(pause)
		}
		if _, err := io.CopyN(f, src, min(chunk, size-done)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

func writeNoise(tb testing.TB, path string, size int64, seed uint64) {
	d := &dataset{}
	if err := d.add(path, size, seed); err != nil {
		tb.Fatal(err)
	}
}

// TestLatency measures the time from a file's close (or its move into the
// folder) to its object being listed, for photos moved in, photos written
// in place and videos copied slowly: `cloudkeep run` with settle at its
// default for all three; for the photos moved in, also with settle_lease
// off (the settle period alone, as on systems without leases) and `mc
// mirror --watch`. It prints p50/p95/p99 and asserts no timing, only that
// every file arrived.
func TestLatency(t *testing.T) {
	srv := miniotest.Start(t)
	mc, mcErr := cachedBinary("mc", "CLOUDKEEP_MC_BIN", "scripts/install-mc.sh")
	var b strings.Builder
	fmt.Fprintf(&b, "\nClose → object listed (listing every 20 ms), one MinIO on this machine (%s).\n\n", machine())
	row(&b, []string{"files", "program", "p50 ms", "p95 ms", "p99 ms", "max ms"})
	row(&b, slices.Repeat([]string{"---"}, 6))
	for i, sc := range scenarios() {
		watchers := []watcher{cloudkeepRun("cloudkeep run", "")}
		if i == 0 {
			watchers = append(watchers, cloudkeepRun("cloudkeep run, settle_lease: false", "settle_lease: false\n"))
			if mcErr == nil {
				watchers = append(watchers, mcWatch(mc))
			}
		}
		for k, w := range watchers {
			lat := latencies(t, srv, fmt.Sprintf("latency-%d-%d", i, k), w, sc)
			label := ""
			if k == 0 {
				label = sc.label
			}
			row(&b, []string{label, w.name, ms(percentile(lat, 0.50)), ms(percentile(lat, 0.95)), ms(percentile(lat, 0.99)), ms(lat[len(lat)-1])})
		}
	}
	if mcErr != nil {
		fmt.Fprintf(&b, "\nmc mirror --watch: skipped, %v", mcErr)
		t.Logf("mc mirror --watch: skipped, %v", mcErr)
	}
	b.WriteString("\n")
	fmt.Print(b.String())
}

// latencies starts w on a fresh folder and bucket, waits until a first
// photo is listed, runs sc and returns each file's close → listed time,
// sorted.
func latencies(tb testing.TB, srv *miniotest.Server, bucket string, w watcher, sc scenario) []time.Duration {
	tb.Helper()
	if err := srv.Client.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{}); err != nil {
		tb.Fatal(err)
	}
	folder, staging := tb.TempDir(), tb.TempDir()
	stop := w.start(tb, srv, bucket, folder)
	defer stop()
	l := listBucket(srv, bucket)
	defer l.close()
	writeNoise(tb, filepath.Join(folder, "READY.jpg"), 20<<10, 0)
	l.wait(tb, []string{"READY.jpg"}, time.Minute)

	closed := map[string]time.Time{}
	start := time.Now()
	for i := range sc.files {
		time.Sleep(time.Until(start.Add(time.Duration(i) * sc.every)))
		closed[sc.write(tb, folder, staging, i)] = time.Now()
	}
	seen := l.wait(tb, slices.Collect(maps.Keys(closed)), 2*time.Minute)
	var out []time.Duration
	for name, at := range closed {
		out = append(out, seen[name].Sub(at))
	}
	slices.Sort(out)
	return out
}

// lister lists a bucket every 20 ms and notes when each object's base
// name was first listed.
type lister struct {
	mu     sync.Mutex
	seen   map[string]time.Time
	cancel context.CancelFunc
	done   chan struct{}
}

func listBucket(srv *miniotest.Server, bucket string) *lister {
	ctx, cancel := context.WithCancel(context.Background())
	l := &lister{seen: map[string]time.Time{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ctx.Err() == nil {
			var names []string
			for o := range srv.Client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
				names = append(names, filepath.Base(o.Key))
			}
			now := time.Now()
			l.mu.Lock()
			for _, n := range names {
				if _, ok := l.seen[n]; !ok {
					l.seen[n] = now
				}
			}
			l.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return l
}

// wait returns when each name was first listed, once all were, or ends
// the test after limit.
func (l *lister) wait(tb testing.TB, names []string, limit time.Duration) map[string]time.Time {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		l.mu.Lock()
		missing := 0
		for _, n := range names {
			if _, ok := l.seen[n]; !ok {
				missing++
			}
		}
		seen := maps.Clone(l.seen)
		l.mu.Unlock()
		if missing == 0 {
			return seen
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d files not listed after %s", missing, len(names), limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *lister) close() { l.cancel(); <-l.done }

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[max(0, int(math.Ceil(p*float64(len(sorted))))-1)]
}

func ms(d time.Duration) string { return fmt.Sprint(d.Milliseconds()) }

// sizeText prints a size in KiB or MiB.
func sizeText(n int64) string {
	if n >= MiB {
		return fmt.Sprintf("%d MiB", n/MiB)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
