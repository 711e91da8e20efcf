package account

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkGalleryZip downloads a ZIP of 1 GiB (16 files of 64 MiB in
// MinIO) through the account handler: the throughput, the growth of the
// process's heap and resident memory at their peak, and the CPU time of
// the process (the service and the client that reads the ZIP; MinIO runs
// apart) for each ZIP.
func BenchmarkGalleryZip(b *testing.B) {
	const files, size = 16, 64 << 20
	de := newDownloadEnv(b)
	body := bytes.Repeat([]byte("cloudkeep"), size/9+1)[:size]
	for i := range files {
		de.put(de.d, "laptop/Videos/clip"+strconv.Itoa(i)+".mov", body, "2024-03-0"+strconv.Itoa(1+i%9)+"T10:00:00Z", "")
	}
	clear(de.files) // keep one copy of the body only
	runtime.GC()

	b.SetBytes(files * size)
	var heap, rss, cpu float64
	storage0 := childCPUSeconds()
	for b.Loop() {
		h, r, c := zipOnce(b, de)
		heap, rss, cpu = max(heap, h), max(rss, r), cpu+c
	}
	b.ReportMetric(heap/(1<<20), "peak-heap-MiB")
	b.ReportMetric(rss/(1<<20), "peak-rss-growth-MiB")
	b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
	b.ReportMetric((childCPUSeconds()-storage0)/float64(b.N), "minio-cpu-s/op")
}

// zipOnce downloads the ZIP of the account once and returns the peak heap
// growth and resident memory growth in bytes, and the CPU seconds spent.
func zipOnce(b *testing.B, de *downloadEnv) (heap, rss, cpu float64) {
	runtime.GC()
	heap0 := heapBytes()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM
	rss0 := procStatus("VmRSS")
	cpu0 := cpuSeconds()
	stop, sampled := make(chan struct{}), make(chan float64)
	go func() {
		peak := heap0
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				sampled <- peak - heap0
				return
			case <-tick.C:
				peak = max(peak, heapBytes())
			}
		}
	}()
	req, _ := http.NewRequest("GET", de.api+"/photos/download", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: de.session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != resp.ContentLength || resp.StatusCode != 200 {
		b.Fatalf("got %d, %d of %d bytes: %v", resp.StatusCode, n, resp.ContentLength, err)
	}
	cpu = cpuSeconds() - cpu0
	close(stop)
	return <-sampled, procStatus("VmHWM") - rss0, cpu
}

// heapBytes is the bytes of live and not yet swept heap objects.
func heapBytes() float64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64())
}

// procStatus is a "kB" line of /proc/self/status in bytes; 0 if unknown.
func procStatus(field string) float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

// cpuSeconds is the user and system CPU time of the process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// childCPUSeconds is the user and system CPU time so far of the running
// child processes (MinIO), read from /proc with the usual 100 ticks a
// second; 0 where there is no /proc.
func childCPUSeconds() float64 {
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	var ticks float64
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for pid := range strings.FieldsSeq(string(b)) {
			stat, _ := os.ReadFile("/proc/" + pid + "/stat")
			_, rest, _ := strings.Cut(string(stat), ") ") // after the command's name
			if fields := strings.Fields(rest); len(fields) > 12 {
				u, _ := strconv.ParseFloat(fields[11], 64)
				s, _ := strconv.ParseFloat(fields[12], 64)
				ticks += u + s
			}
		}
	}
	return ticks / 100
}
