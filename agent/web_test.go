package agent

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/uploader"
)

func writePhoto(t *testing.T, path string, c color.RGBA) {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := range 240 {
		for x := range 320 {
			img.Set(x, y, color.RGBA{c.R + uint8(x/3), c.G + uint8(y/3), c.B, 255})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, nil)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, m := range regexp.MustCompile(`(?m)^(cloudkeep_[a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$`).FindAllStringSubmatch(string(body), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		out[m[1]] = v
	}
	return out
}

// During a slow upload the metrics and the status page show it; after it
// the counters have counted it.
func TestAgent_MetricsAndStatusPage(t *testing.T) {
	port := miniotest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	a, _, photos := startAgent(t, func(a *Agent) {
		a.MetricsListen = fmt.Sprintf("127.0.0.1:%d", port)
		a.Files = 3
	}, func(c *uploader.Config) { c.BandwidthLimit = 8 << 20 })
	for i, c := range []color.RGBA{{200, 40, 40, 255}, {30, 140, 60, 255}, {40, 60, 200, 255}} {
		writePhoto(t, filepath.Join(photos, fmt.Sprintf("IMG_%d.jpg", i)), c)
	}
	video := append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), make([]byte, 40<<20)...)
	os.WriteFile(filepath.Join(photos, "VID_long.mp4"), video, 0o644)

	deadline := time.Now().Add(20 * time.Second)
	var m map[string]float64
	for {
		m = scrape(t, url)
		if m["cloudkeep_uploads_in_flight"] == 1 && m["cloudkeep_uploaded_files_total"] >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw the video in flight after the photos: %v", m)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for series, want := range map[string]float64{
		`cloudkeep_watches{root="pictures"}`: 1, `cloudkeep_watch_fallback{root="pictures"}`: 0,
		"cloudkeep_signed_in": 1, "cloudkeep_paused": 0, "cloudkeep_queue_files": 0,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
	if m["cloudkeep_uploaded_bytes_total"] < 3*1000 || m["cloudkeep_last_upload_timestamp_seconds"] < float64(time.Now().Add(-time.Minute).Unix()) ||
		m["cloudkeep_upload_duration_seconds_count"] != m["cloudkeep_uploaded_files_total"] {
		t.Errorf("counters after the photos: %v", m)
	}

	page := get(t, url+"/") // thumbnails: TestAgent_StatusPageThumbnails
	if !strings.Contains(page, "VID_long.mp4") || !strings.Contains(page, "<progress") || !strings.Contains(page, "IMG_0.jpg") {
		t.Errorf("status page lacks the upload or the recent photos:\n%s", page)
	}
	screenshotStatus(t, url)

	deadline = time.Now().Add(30 * time.Second)
	for scrape(t, url)["cloudkeep_uploaded_files_total"] < 4 {
		if time.Now().After(deadline) {
			t.Fatal("the video was not stored")
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = a
}

func get(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// screenshotStatus renders the page in headless Chromium and saves it
// (docs/screenshots/status.png under make screenshots).
func screenshotStatus(t *testing.T, url string) {
	path, _ := exec.LookPath("chromium")
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no chromium")
		}
		t.Log("no chromium: page not rendered")
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(900, 900), chromedp.Flag("disable-gpu", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/"), chromedp.WaitVisible(chromedp.CSS("progress"))); err != nil {
		t.Fatalf("status page in Chromium: %v", err)
	}
	state, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("state")))
	if err != nil || strings.TrimSpace(state) != "running" {
		t.Errorf("state on the page: %q %v", state, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("CLOUDKEEP_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", dir)
	}
	os.WriteFile(filepath.Join(dir, "status.png"), png, 0o644)
}
