package account

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// scenicJPEG is a real JPEG of a plain landscape (sky, sun, two hills) in
// palette i's colours: pictures that look like photos in the screenshots.
func scenicJPEG(t testing.TB, w, h, i int) []byte {
	t.Helper()
	p := scenicPalettes[i%len(scenicPalettes)]
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	sunX, sunY, sunR := float64(w)*(0.25+0.25*float64(i%3)), float64(h)*0.33, float64(min(w, h))*0.07
	for y := range h {
		fy := float64(y) / float64(h)
		for x := range w {
			fx := float64(x) / float64(w)
			far := 0.58 + 0.07*math.Sin(fx*5+float64(i))
			near := 0.74 + 0.06*math.Sin(fx*8+float64(i)*2+1)
			var c color.RGBA
			switch dx, dy := float64(x)-sunX, float64(y)-sunY; {
			case fy > near:
				c = mix(p[4], color.RGBA{A: 255}, (fy-near)*0.8)
			case fy > far:
				c = mix(p[3], p[4], (fy-far)*1.5)
			case dx*dx+dy*dy < sunR*sunR:
				c = p[2]
			default:
				c = mix(p[0], p[1], fy/far)
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// scenicPalettes are sky top, horizon, sun, far hill, near hill.
var scenicPalettes = [][5]color.RGBA{
	{rgb(0x1e3c72), rgb(0xf6b26b), rgb(0xfff2cc), rgb(0x6d4c6f), rgb(0x3b2f4a)}, // dawn
	{rgb(0x3f86d1), rgb(0xcfe8ff), rgb(0xfffbe0), rgb(0x7fb069), rgb(0x4f7942)}, // noon
	{rgb(0x2c1e4a), rgb(0xff7e5f), rgb(0xffd27f), rgb(0x8e4162), rgb(0x3d1f3a)}, // sunset
	{rgb(0x8fa8c0), rgb(0xe6edf3), rgb(0xffffff), rgb(0xa3b5a0), rgb(0x6b8f71)}, // mist
	{rgb(0x5fa8d3), rgb(0xf3d9a4), rgb(0xfff6d5), rgb(0xd9a05b), rgb(0xb5713a)}, // desert
	{rgb(0x0b1026), rgb(0x2b3a67), rgb(0xf5f3ce), rgb(0x1f2a44), rgb(0x121a2e)}, // night
}

func rgb(v uint32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}
}

func mix(a, b color.RGBA, f float64) color.RGBA {
	f = max(0, min(1, f))
	m := func(x, y uint8) uint8 { return uint8(float64(x)*(1-f) + float64(y)*f) }
	return color.RGBA{R: m(a.R, b.R), G: m(a.G, b.G), B: m(a.B, b.B), A: 255}
}

// loaded navigates by running act (a click, a submit) and waits until the
// next page has loaded.
func loaded(t *testing.T, ctx context.Context, act chromedp.Action[chromedp.Void]) {
	t.Helper()
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.__before = true`), act)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		// The page being left may answer, or fail to while it goes.
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.__before && document.readyState === "complete"`))
		if err == nil && done {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	t.Fatalf("no new page loaded; still at %s", loc)
}

// shownKeys are the rel keys of the grid's tiles, in order.
func shownKeys(t *testing.T, ctx context.Context) []string {
	t.Helper()
	keys, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("a.tile")].map(a => new URL(a.href).searchParams.get("key"))`))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func evalInt(t *testing.T, ctx context.Context, js string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return n
}

// waitImages waits until every image of the page has loaded, and fails
// when one could not be shown.
func waitImages(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, chromedp.Poll[chromedp.Void](`[...document.images].every(i => i.complete)`, chromedp.WithPollingTimeout(20*time.Second)))
	if n := evalInt(t, ctx, `[...document.images].filter(i => i.naturalWidth === 0).length`); n > 0 {
		t.Errorf("%d images of the page did not load", n)
	}
}

// waitFile waits until the browser has saved name in dir and returns it.
func waitFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		partial, _ := filepath.Glob(filepath.Join(dir, "*.crdownload"))
		if err == nil && len(partial) == 0 {
			return b
		}
		time.Sleep(50 * time.Millisecond)
	}
	entries, _ := os.ReadDir(dir)
	t.Fatalf("the browser saved no %s: the folder holds %v", name, entries)
	return nil
}

// The gallery in a browser, as a person whose devices are gone uses it:
// sign in, look, narrow, open, play, download.
func TestBrowser_Gallery(t *testing.T) {
	gf := newGalleryFixture(t)
	ctx := browser(t)
	storage := "http://" + gf.s3.endpoint
	var mu sync.Mutex
	var fromStorage []string // "<status> <path>" of each answer of the storage
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && strings.HasPrefix(e.Response.URL, storage) {
			u, _ := url.Parse(e.Response.URL)
			mu.Lock()
			fromStorage = append(fromStorage, fmt.Sprintf("%d %s", e.Response.Status, u.Path))
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.EmulateViewport(1280, 900))

	// Signed out, the gallery asks to sign in, and comes back after.
	do(t, ctx, chromedp.Navigate(gf.api+"/photos?kind=photo"), chromedp.WaitVisible(chromedp.ID("username")))
	do(t, ctx, chromedp.SendKeys(chromedp.ID("username"), gf.email), chromedp.SendKeys(chromedp.ID("password"), gf.password),
		submit(), chromedp.WaitVisible(chromedp.ID("code")))
	loaded(t, ctx, chromedp.Steps(chromedp.SendKeys(chromedp.ID("code"), gf.lastCode(gf.email)), submit()))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != gf.api+"/photos?kind=photo" {
		t.Fatalf("after signing in at %s, want the photos", loc)
	}
	if got := shownKeys(t, ctx); len(got) != 5 {
		t.Errorf("photos only: %d tiles %q, want 5", len(got), got)
	}

	t.Run("grid", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(gf.api+"/photos"), chromedp.WaitVisible(chromedp.ID("grid")))
		if got := shownKeys(t, ctx); len(got) != 7 || got[0] != "phone/Camera/IMG_0001.HEIC" {
			t.Errorf("%d tiles %q, want 7 with the Live Photo first", len(got), got)
		}
		if n := evalInt(t, ctx, `document.querySelectorAll("h2.day").length`); n != 3 {
			t.Errorf("%d day headers, want 3", n)
		}
		waitImages(t, ctx)
		if n := evalInt(t, ctx, `document.querySelectorAll("#grid img").length`); n != 4 {
			t.Errorf("%d thumbnails, want 4", n)
		}
		// Ticking photos offers to download them.
		do(t, ctx, chromedp.Click(chromedp.CSS(`input[value="phone/Camera/IMG_0002.JPG"]`)),
			chromedp.Click(chromedp.CSS(`input[value="laptop/Videos/clip.mp4"]`)))
		if got := text(t, ctx, "#selected"); got != "2 selected" {
			t.Errorf("after ticking two: %q", got)
		}
		if visible := evalInt(t, ctx, `document.querySelector(".picked").offsetParent ? 1 : 0`); visible != 1 {
			t.Error("the download buttons do not show with photos ticked")
		}
	})

	t.Run("filters", func(t *testing.T) {
		for _, c := range []struct {
			set  map[string]string
			q    string
			want []string
		}{
			{map[string]string{"kind": "video"}, "", []string{"laptop/Videos/clip.mp4"}},
			{map[string]string{"device": "laptop"}, "", []string{"laptop/Pictures/2024/DSC_0001.JPG", "laptop/Videos/clip.mp4"}},
			{map[string]string{"year": "2023"}, "", []string{"phone/Camera/IMG_20231225_101010.jpg", "phone/Documents/notes.pdf"}},
			{map[string]string{"year": "2024", "month": "1", "device": "phone", "kind": "photo"}, "",
				[]string{"phone/Camera/IMG_0001.HEIC", "phone/Camera/IMG_0002.JPG", "phone/Camera/PXL_20240131_080000000.MP.jpg"}},
			{nil, "DSC", []string{"laptop/Pictures/2024/DSC_0001.JPG"}},
			{nil, "Documents", []string{"phone/Documents/notes.pdf"}},
		} {
			do(t, ctx, chromedp.Navigate(gf.api+"/photos"), chromedp.WaitVisible(chromedp.CSS("form.filters")))
			for name, v := range c.set {
				do(t, ctx, chromedp.SetValue(chromedp.CSS(`select[name="`+name+`"]`), v))
			}
			if c.q != "" {
				do(t, ctx, chromedp.SendKeys(chromedp.CSS(`input[name="q"]`), c.q))
			}
			loaded(t, ctx, chromedp.Click(chromedp.CSS("form.filters button")))
			if got := shownKeys(t, ctx); !slices.Equal(got, c.want) {
				t.Errorf("%v %q: %q, want %q", c.set, c.q, got, c.want)
			}
		}
		do(t, ctx, chromedp.Navigate(gf.api+"/photos?q=no-such-name"), chromedp.WaitVisible(chromedp.CSS(".empty")))
		if got := text(t, ctx, ".empty"); got != "Nothing matches these filters. Clear the filters" {
			t.Errorf("nothing matches: %q", got)
		}
		loaded(t, ctx, chromedp.Click(chromedp.CSS(".empty a")))
		if got := shownKeys(t, ctx); len(got) != 7 {
			t.Errorf("cleared filters show %d tiles", len(got))
		}
	})

	t.Run("photo", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(gf.api+"/photos"), chromedp.WaitVisible(chromedp.ID("grid")))
		loaded(t, ctx, chromedp.Click(chromedp.CSS(`a.tile[href*="IMG_0002.JPG"]`)))
		do(t, ctx, chromedp.Poll[chromedp.Void](`document.getElementById("photo").complete`))
		if w := evalInt(t, ctx, `document.getElementById("photo").naturalWidth`); w != 1600 {
			t.Errorf("the photo shows %d pixels wide, want 1600", w)
		}
		if got := text(t, ctx, "#taken"); got != "31 January 2024, 09:30 (UTC+09:00)" {
			t.Errorf("taken: %q", got)
		}
		// The arrow keys step through the photos, as the links do.
		loaded(t, ctx, chromedp.KeyEvent(kb.ArrowRight)) // older
		if got := text(t, ctx, "h1"); got != "PXL_20240131_080000000.MP.jpg" {
			t.Errorf("→ leads to %q", got)
		}
		loaded(t, ctx, chromedp.Click(chromedp.ID("newer")))
		if got := text(t, ctx, "h1"); got != "IMG_0002.JPG" {
			t.Errorf("← Newer leads to %q", got)
		}
	})

	t.Run("video", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(gf.api+"/photos/item?key="+url.QueryEscape("laptop/Videos/clip.mp4")),
			chromedp.WaitVisible(chromedp.ID("video")))
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const v = document.getElementById("video"); v.muted = true; return v.play(); })()`,
			chromedp.EvalAwaitPromise))
		do(t, ctx, chromedp.Poll[chromedp.Void](`document.getElementById("video").currentTime > 0.1`, chromedp.WithPollingTimeout(15*time.Second)))
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const v = document.getElementById("video"); v.pause(); v.currentTime = 0.75; })()`),
			chromedp.Poll[chromedp.Void](`(() => { const v = document.getElementById("video"); return !v.seeking && Math.abs(v.currentTime - 0.75) < 0.05 && v.readyState >= 2; })()`,
				chromedp.WithPollingTimeout(15*time.Second)))
		mu.Lock()
		defer mu.Unlock()
		want := "206 /" + gf.s3.bucket + "/" + gf.account + "/laptop/Videos/clip.mp4"
		if !slices.Contains(fromStorage, want) {
			t.Errorf("no %q among the storage's answers %q", want, fromStorage)
		}
	})

	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}

	t.Run("download", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(gf.api+"/photos/item?key="+url.QueryEscape("phone/Camera/IMG_0001.HEIC")),
			chromedp.WaitVisible(chromedp.ID("download")), chromedp.Click(chromedp.ID("download")))
		if got := waitFile(t, downloads, "IMG_0001.HEIC"); !bytes.Equal(got, gf.files["phone/Camera/IMG_0001.HEIC"].body) {
			t.Errorf("the downloaded original differs: %d bytes", len(got))
		}
		do(t, ctx, chromedp.Click(chromedp.CSS(`.members a`)))
		if got := waitFile(t, downloads, "IMG_0001.MOV"); !bytes.Equal(got, gf.files["phone/Camera/IMG_0001.MOV"].body) {
			t.Errorf("the downloaded Live Photo video differs: %d bytes", len(got))
		}
	})

	t.Run("day zip", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(gf.api+"/photos"), chromedp.WaitVisible(chromedp.ID("grid")),
			chromedp.Click(chromedp.CSS(`h2.day[data-day="2024-01-30"] + a.dayzip`)))
		var name string
		deadline := time.Now().Add(20 * time.Second)
		for name == "" && time.Now().Before(deadline) {
			zips, _ := filepath.Glob(filepath.Join(downloads, "*.zip"))
			if len(zips) > 0 {
				name = filepath.Base(zips[0])
			}
			time.Sleep(50 * time.Millisecond)
		}
		if name == "" {
			t.Fatal("the browser saved no ZIP")
		}
		b := waitFile(t, downloads, name)
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := map[string][]byte{}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			got[f.Name], _ = io.ReadAll(rc)
			rc.Close()
		}
		for _, rel := range []string{"laptop/Pictures/2024/DSC_0001.JPG", "laptop/Pictures/2024/DSC_0001.NEF",
			"laptop/Pictures/2024/DSC_0001.JPG.xmp", "laptop/Videos/clip.mp4"} {
			if !bytes.Equal(got[rel], gf.files[rel].body) {
				t.Errorf("%s in the ZIP: %d bytes, want the file's %d", rel, len(got[rel]), len(gf.files[rel].body))
			}
		}
		if len(got) != 4 {
			t.Errorf("the day's ZIP holds %d files, want 4", len(got))
		}
	})

	t.Run("another account", func(t *testing.T) {
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(gf.api+"/photos/item?key="+url.QueryEscape(gf.other)))
		if err != nil {
			t.Fatal(err)
		}
		if got := text(t, ctx, ".error"); resp.Status != 404 || got != "No such photo." {
			t.Errorf("another account's photo: %d %q", resp.Status, got)
		}
	})

	t.Run("screenshots", func(t *testing.T) {
		galleryScreenshotPhotos(gf)
		do(t, ctx, chromedp.Navigate(gf.api+"/photos"), chromedp.WaitVisible(chromedp.ID("grid")))
		waitImages(t, ctx)
		shot(t, ctx, "photos")
		do(t, ctx, chromedp.Navigate(gf.api+"/photos/item?key="+url.QueryEscape("laptop/Pictures/2024/DSC_0001.JPG")),
			chromedp.WaitVisible(chromedp.ID("photo")))
		waitImages(t, ctx)
		shot(t, ctx, "photo")
		do(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
		do(t, ctx, chromedp.Navigate(gf.api+"/photos"), chromedp.WaitVisible(chromedp.ID("grid")))
		if w := evalInt(t, ctx, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("the grid is %d pixels wide on a 390 pixel phone", w)
		}
		waitImages(t, ctx)
		shot(t, ctx, "photos-phone")
		loaded(t, ctx, chromedp.Tap(chromedp.CSS(`a.tile[href*="DSC_0001.JPG"]`)))
		do(t, ctx, chromedp.WaitVisible(chromedp.ID("photo")))
		if w := evalInt(t, ctx, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("the photo's page is %d pixels wide on a 390 pixel phone", w)
		}
		waitImages(t, ctx)
		shot(t, ctx, "photo-phone")
	})
}

// galleryScreenshotPhotos adds photos over a few days to the fixture,
// for a grid that looks like a person's.
func galleryScreenshotPhotos(gf *galleryFixture) {
	days := []struct {
		date string
		n    int
	}{{"2024-01-29", 5}, {"2024-01-28", 4}, {"2024-01-21", 6}}
	seed := 5
	for _, d := range days {
		for i := range d.n {
			seed++
			w, h := 1600, 1200
			if seed%4 == 0 {
				w, h = 1200, 1600
			}
			gf.put(galleryFile{rel: fmt.Sprintf("phone/Camera/IMG_%s_%02d.JPG", strings.ReplaceAll(d.date, "-", ""), i),
				capture: fmt.Sprintf("%sT%02d:%02d:00+01:00", d.date, 17-i, 10*i), source: wire.CaptureEXIF,
				hasThumb: true, seed: seed, body: scenicJPEG(gf.t, w, h, seed)})
		}
	}
}

// signedInBrowser is a browser holding a session cookie of account for
// the gate's pages.
func (ge *gateEnv) signedInBrowser(account string) context.Context {
	ge.t.Helper()
	token, err := ge.svc.NewSession(context.Background(), account)
	if err != nil {
		ge.t.Fatal(err)
	}
	ctx := browser(ge.t)
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: sessionCookie, Value: token, URL: ge.api}); err != nil {
		ge.t.Fatal(err)
	}
	return ctx
}

// Scrolling to the end of a page loads the next one into it, without
// repeating the header of a day that goes on.
func TestBrowser_GalleryScroll(t *testing.T) {
	m := newMinioGateEnv(t)
	d := m.connectDevice("", "phone")
	rows, want := galleryRowsOver(d.account, 130, 7)
	if err := m.gate.store.PutObjects(context.Background(), d.account, rows, nil); err != nil {
		t.Fatal(err)
	}
	ctx := m.signedInBrowser(d.account)
	do(t, ctx, chromedp.Navigate(m.api+"/photos"), chromedp.WaitVisible(chromedp.ID("grid")))
	if got := shownKeys(t, ctx); len(got) != 120 {
		t.Fatalf("first page: %d tiles", len(got))
	}
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.body.scrollHeight)`),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("a.tile").length === 130`, chromedp.WithPollingTimeout(15*time.Second)))
	if got := shownKeys(t, ctx); !slices.Equal(got, want) {
		t.Errorf("after scrolling: %d tiles, not the 130 in order", len(got))
	}
	heads, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("h2.day")].map(h => h.dataset.day)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != 19 || len(slices.Compact(slices.Clone(heads))) != 19 {
		t.Errorf("day headers %q, want 19 different", heads)
	}
	if n := evalInt(t, ctx, `document.querySelectorAll("a.more").length`); n != 0 {
		t.Error("the last page still links to older photos")
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != m.api+"/photos" {
		t.Errorf("scrolling left the page for %s", loc)
	}
}
