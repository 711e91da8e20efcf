package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// galleryFile is a file of the gallery test: its bytes and mtime.
type galleryFile struct {
	b     []byte
	mtime time.Time
}

// galleryFiles writes the photos a phone and a camera leave on two days of
// a trip (local time +01:00) and returns them by rel key: three JPEGs, a
// Live Photo (HEIC and its MOV) and an MP4.
func (w *world) galleryFiles() map[string]galleryFile {
	t := w.t
	jpeg := func(wd, ht int, taken string) []byte {
		return mediatest.JPEG(t, wd, ht, mediatest.EXIF{DateTimeOriginal: taken, OffsetTimeOriginal: "+01:00", Make: "Apple", Model: "iPhone 15"})
	}
	mtime := time.Date(2024, 2, 3, 8, 0, 0, 0, time.UTC)
	files := map[string][]byte{
		"2024/IMG_0001.JPG":  jpeg(800, 600, "2024:01:31 14:05:00"),
		"2024/IMG_0002.JPG":  jpeg(640, 480, "2024:01:31 18:30:00"),
		"2024/IMG_0003.JPG":  jpeg(600, 800, "2024:02:01 09:15:00"),
		"2024/IMG_0004.HEIC": mediatest.HEIC(t, mediatest.EXIF{DateTimeOriginal: "2024:02:01 10:00:00", OffsetTimeOriginal: "+01:00"}),
		"2024/IMG_0004.MOV": mediatest.MOV(t, mediatest.MOVMeta{Created: time.Date(2024, 2, 1, 9, 0, 0, 0, time.UTC),
			CreationDate: "2024-02-01T10:00:00+0100", ContentID: "4F1C"}),
		"2024/clip.mp4": mediatest.MP4(t, time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC)),
	}
	out := map[string]galleryFile{}
	for rel, b := range files {
		mtime = mtime.Add(time.Minute)
		w.writeMedia(rel, b, mtime)
		out["laptop/pictures/"+rel] = galleryFile{b: b, mtime: mtime}
	}
	return out
}

// galleryDay is a day header of /photos and the tiles under it, by rel key.
type galleryDay struct {
	Day   string   `json:"day"`   // its data-day
	Label string   `json:"label"` // its text
	Zip   string   `json:"zip"`   // its "Download day" link
	Keys  []string `json:"keys"`
}

// galleryDays reads the grid the tab shows: each day header and the keys
// of the tiles under it, in page order.
func galleryDays(t *testing.T, ctx context.Context) []galleryDay {
	t.Helper()
	raw := chromeEval[[]byte](t, ctx, `(() => {
		const out = [];
		for (const el of document.querySelectorAll('main h2.day, main a.tile')) {
			if (el.tagName === 'H2') {
				const zip = el.parentElement.querySelector('a.dayzip');
				out.push({day: el.dataset.day, label: el.textContent.trim(), zip: zip ? zip.getAttribute('href') : '', keys: []});
				continue;
			}
			if (!out.length) out.push({day: '', label: '', zip: '', keys: []});
			out[out.length - 1].keys.push(new URL(el.href).searchParams.get('key'));
		}
		return out;
	})()`)
	var days []galleryDay
	if err := json.Unmarshal(raw, &days); err != nil {
		t.Fatalf("read the grid: %v (%s)", err, raw)
	}
	return days
}

// tileImage is the thumbnail <img> of the tile of key.
type tileImage struct {
	Src      string `json:"src"`
	Complete bool   `json:"complete"`
	Width    int    `json:"width"`
}

func galleryTileImage(t *testing.T, ctx context.Context, key string) *tileImage {
	t.Helper()
	k, _ := json.Marshal(key)
	raw := chromeEval[[]byte](t, ctx, `(() => {
		const a = [...document.querySelectorAll('main a.tile')].find(a => new URL(a.href).searchParams.get('key') === `+string(k)+`);
		const img = a && a.querySelector('img');
		if (!img) return null;
		img.scrollIntoView();
		return {src: img.getAttribute('src'), complete: img.complete, width: img.naturalWidth};
	})()`)
	var img *tileImage
	if err := json.Unmarshal(raw, &img); err != nil {
		t.Fatalf("read the tile of %s: %v (%s)", key, err, raw)
	}
	return img
}

// cookieClient makes requests with a browser's cookies and shows
// redirects instead of following them.
type cookieClient struct {
	t      *testing.T
	base   string
	cookie string
	c      *http.Client
}

func newCookieClient(t *testing.T, base, cookie string) *cookieClient {
	return &cookieClient{t: t, base: base, cookie: cookie, c: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// get requests path (or an absolute URL) and returns the response with its
// body read.
func (c *cookieClient) get(path string) (*http.Response, []byte) {
	c.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = c.base + path
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.cookie != "" && strings.HasPrefix(u, c.base+"/") {
		req.Header.Set("Cookie", c.cookie)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("GET %s: %v", u, err)
	}
	return resp, body
}

// page checks that path is a page of the gallery: not kept by any cache,
// holding no presigned URL of the storage.
func (c *cookieClient) page(path string) {
	c.t.Helper()
	resp, body := c.get(path)
	if cc := resp.Header.Get("Cache-Control"); resp.StatusCode != 200 || cc != "private, no-store" || bytes.Contains(body, []byte("X-Amz-")) {
		c.t.Errorf("GET %s: %s, Cache-Control %q, want 200, private, no-store, and no presigned URL in the page", path, resp.Status, cc)
	}
}

// storage follows the service's redirect to the storage: path must answer
// 302 to a presigned URL of the storage, which is fetched without cookies.
func (c *cookieClient) storage(path, storageAddr string) (*http.Response, []byte) {
	c.t.Helper()
	resp, body := c.get(path)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host != storageAddr || loc.Query().Get("X-Amz-Signature") == "" {
		c.t.Fatalf("GET %s: %s to %q, want 302 to a URL of the storage %s presigned\n%s", path, resp.Status, resp.Header.Get("Location"), storageAddr, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "private, max-age=60" {
		c.t.Errorf("GET %s: Cache-Control %q, want private, max-age=60", path, cc)
	}
	plain := &cookieClient{t: c.t, base: c.base, c: c.c}
	return plain.get(loc.String())
}

// A person whose devices are gone opens the account service in a browser,
// signs in through the pages and finds what `cloudkeep backup` stored: a
// tile per item (a Live Photo's video is no tile of its own) under the
// days the photos were taken, newest first, thumbnails loaded from the
// storage, an item whose original downloads with the same bytes, a day
// as a ZIP with the Live Photo's video in it. Another account sees none
// of it, and after signing out /photos asks to sign in again.
func TestGallery_EndToEnd(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	alice := s.signup("alice@example.com", "alice-pass-1")
	s.signup("bob@example.com", "bob-pass-22")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, "alice@example.com", "alice-pass-1", "alice@example.com")
	files := w.galleryFiles()
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup exited %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	var stored []string
	for _, k := range s.bucketKeys() {
		if !strings.Contains(k, "/.thumbs/") {
			stored = append(stored, strings.TrimPrefix(k, alice+"/"))
		}
	}
	if !sameSet(stored, slices.Collect(maps.Keys(files))) {
		t.Fatalf("backed up %v, want %v", stored, slices.Sorted(maps.Keys(files)))
	}
	s.proxy.Reset()

	ctx := startChromium(t)
	chromeDo(t, ctx, chromedp.Navigate(s.url+"/photos"))
	if u := waitLocation(t, ctx, "/photos sends to sign in", func(u *url.URL) bool { return u.Path == "/signin" }); u.Query().Get("next") != "/photos" {
		t.Errorf("signed out, /photos went to %s, want /signin?next=/photos", u)
	}
	s.signInPages(ctx, "alice@example.com", "alice-pass-1", "alice@example.com")
	waitLocation(t, ctx, "back on /photos after signing in", func(u *url.URL) bool { return u.Path == "/photos" })
	chromeDo(t, ctx, chromedp.WaitVisible(chromedp.CSS(`main a.tile`)))

	// One tile per item, newest first, under the day each was taken there.
	const p = "laptop/pictures/2024/"
	want := []struct {
		day, label string
		keys       []string
	}{
		{"2024-02-01", "Thursday, 1 February 2024", []string{p + "IMG_0004.HEIC", p + "IMG_0003.JPG"}},
		{"2024-01-31", "Wednesday, 31 January 2024", []string{p + "IMG_0002.JPG", p + "IMG_0001.JPG", p + "clip.mp4"}},
	}
	days := galleryDays(t, ctx)
	tiles := 0
	for _, d := range days {
		tiles += len(d.Keys)
	}
	if members := 1; tiles != len(stored)-members {
		t.Errorf("%d tiles, want %d: the %d files backed up but the Live Photo's video", tiles, len(stored)-members, len(stored))
	}
	if len(days) != len(want) {
		t.Errorf("day headers %+v, want %d days", days, len(want))
	}
	for i := range min(len(days), len(want)) {
		if d := days[i]; d.Day != want[i].day || d.Label != want[i].label || !slices.Equal(d.Keys, want[i].keys) {
			t.Errorf("day %d: header %q (%s) over %v, want %q (%s) over %v", i+1, d.Label, d.Day, d.Keys, want[i].label, want[i].day, want[i].keys)
		}
	}

	// The thumbnail came from the storage, through the service's redirect.
	first := p + "IMG_0001.JPG"
	var img *tileImage
	deadline := time.Now().Add(20 * time.Second)
	for img = galleryTileImage(t, ctx, first); img == nil || !img.Complete || img.Width == 0; img = galleryTileImage(t, ctx, first) {
		if time.Now().After(deadline) {
			t.Fatalf("the thumbnail of %s did not load: %+v", first, img)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if img.Width != 320 || !strings.Contains(img.Src, "/photos/thumb?") {
		t.Errorf("tile image %+v, want the 320-pixel thumbnail from /photos/thumb", img)
	}
	thumb := alice + "/.thumbs/" + sha256Hex(files[first].b) + ".jpg"
	thumbPath := "/" + s.srv.Bucket + "/" + thumb + "?"
	if !slices.ContainsFunc(s.proxy.Requests(), func(r miniotest.Request) bool {
		return r.Method == http.MethodGet && strings.HasPrefix(r.Target, thumbPath) && strings.Contains(r.Target, "X-Amz-Signature=")
	}) {
		t.Errorf("the browser fetched no presigned %s from the storage", thumbPath)
	}
	web := newCookieClient(t, s.url, chromeCookies(t, ctx, s.url))
	web.page("/photos")
	src, _ := url.Parse(img.Src)
	if resp, body := web.storage(src.RequestURI(), s.proxy.Addr); resp.StatusCode != 200 || sha256Hex(body) != w.contentSHA256(thumb) {
		t.Errorf("thumbnail through the redirect: %s, %d bytes, not the stored thumbnail", resp.Status, len(body))
	}

	// Open the item, download its original.
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`main a.tile`)))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(nodes, func(n *chromedp.Node) bool {
		u, err := url.Parse(n.AttributeValue("href"))
		return err == nil && u.Query().Get("key") == first
	})
	if i < 0 {
		t.Fatalf("no tile for %s", first)
	}
	chromeDo(t, ctx, chromedp.Click(chromedp.NodeIDs{nodes[i].NodeID}))
	item := waitLocation(t, ctx, "the item page", func(u *url.URL) bool { return u.Path == "/photos/item" && u.Query().Get("key") == first })
	web.page(item.RequestURI())
	chromeDo(t, ctx, chromedp.WaitVisible(chromedp.ID("download")))
	dl, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("download"), "href"))
	if u, _ := url.Parse(dl.Value); err != nil || u.Path != "/photos/file" || u.Query().Get("key") != first || u.Query().Get("download") != "1" {
		t.Fatalf("the item page's download link is %q (%v), want /photos/file?key=%s&download=1", dl.Value, err, first)
	}
	resp, body := web.storage(dl.Value, s.proxy.Addr)
	if want := files[first].b; resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Errorf("download of %s: %s, %d bytes (sha256 %s), want the file's %d bytes (%s)", first, resp.Status, len(body), sha256Hex(body), len(want), sha256Hex(want))
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, "IMG_0001.JPG") {
		t.Errorf("download of %s: Content-Disposition %q, want an attachment named IMG_0001.JPG", first, cd)
	}

	// A day as a ZIP, by the day header's link: its photos with the Live
	// Photo's video.
	dayZip, _ := url.Parse(days[0].Zip)
	if q := dayZip.Query(); dayZip.Path != "/photos/download" || q.Get("format") != "zip" || q.Get("day") != "2024-02-01" {
		t.Errorf("the link to download 2024-02-01 is %q, want /photos/download?format=zip&day=2024-02-01", days[0].Zip)
	}
	// With photos only, the Live Photo's video still goes with its photo.
	for _, path := range []string{"/photos/download?format=zip&day=2024-02-01", "/photos/download?format=zip&day=2024-02-01&kind=photo"} {
		resp, body := web.get(path)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" || !strings.HasPrefix(resp.Header.Get("Cache-Control"), "private") {
			t.Errorf("GET %s: %s, Content-Type %q, Cache-Control %q\n%.500s", path, resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), body)
			continue
		}
		checkZip(t, path, body, files, []string{p + "IMG_0003.JPG", p + "IMG_0004.HEIC", p + "IMG_0004.MOV"})
	}

	// The same day as a list of links for a download manager: each line
	// fetches its file without a cookie, under the file's own name.
	resp, list := web.get("/photos/download?format=txt&day=2024-02-01")
	lines := strings.Fields(string(list))
	if resp.StatusCode != 200 || len(lines) != 3 {
		t.Fatalf("the link list of 2024-02-01: %s, %d lines, want 200 and 3\n%s", resp.Status, len(lines), list)
	}
	plain := newCookieClient(t, s.url, "")
	for _, line := range lines {
		rel, _ := url.PathUnescape(line[strings.LastIndex(line, "/laptop/")+1:])
		got, body := plain.storage(line, s.proxy.Addr)
		if f, ok := files[rel]; got.StatusCode != 200 || !ok || !bytes.Equal(body, f.b) ||
			!strings.Contains(got.Header.Get("Content-Disposition"), path.Base(rel)) {
			t.Errorf("the list's line %s: %s, %d bytes, Content-Disposition %q, want the file %s", line, got.Status, len(body), got.Header.Get("Content-Disposition"), rel)
		}
	}

	// Another account, in its own browser session, finds nothing there.
	other := incognito(t, ctx)
	chromeDo(t, other, chromedp.Navigate(s.url+"/photos"))
	s.signInPages(other, "bob@example.com", "bob-pass-22", "bob@example.com")
	itemURL := s.url + "/photos/item?key=" + url.QueryEscape(first)
	for _, u := range []string{itemURL, s.url + "/photos/item?key=" + url.QueryEscape(alice+"/"+first)} {
		resp, err := chromedp.Run(other, chromedp.NavigateResponse(u))
		if err != nil {
			t.Fatalf("bob opens %s: %v", u, err)
		}
		if text := chromeEval[string](t, other, `document.body.innerText`); resp.Status != 404 || !strings.Contains(text, "No such photo.") {
			t.Errorf("bob opens %s: %d %q, want 404 No such photo.", u, resp.Status, text)
		}
	}
	bob := newCookieClient(t, s.url, chromeCookies(t, other, s.url))
	if resp, body := bob.get("/photos/file?key=" + url.QueryEscape(first) + "&download=1"); resp.StatusCode != 404 || !strings.Contains(string(body), "No such photo.") {
		t.Errorf("bob downloads alice's %s: %s %q, want 404 No such photo.", first, resp.Status, body)
	}

	// Signing out ends the session: /photos sends to sign in again.
	chromeDo(t, ctx, chromedp.Navigate(s.url+"/account"),
		chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.ID("username")))
	for _, next := range []string{"/photos", "/photos/item?key=" + url.QueryEscape(first)} {
		chromeDo(t, ctx, chromedp.Navigate(s.url+next))
		if u := waitLocation(t, ctx, next+" sends to sign in", func(u *url.URL) bool { return u.Path == "/signin" }); u.Query().Get("next") != next {
			t.Errorf("signed out, %s went to %s, want /signin?next=%s", next, u, next)
		}
	}
	if resp, _ := web.get(dl.Value); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=") {
		t.Errorf("download with the signed-out cookie: %s to %q, want 303 to /signin", resp.Status, resp.Header.Get("Location"))
	}
	// The link list ended with the sign-in it was made in.
	if resp, body := plain.get(lines[0]); resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "This link expired") {
		t.Errorf("a line of the list after signing out: %s %.200q, want 403 This link expired", resp.Status, body)
	}
}

// checkZip checks that the ZIP in body (the answer to path) holds the files named want (rel
// keys), each with its bytes and its mtime.
func checkZip(t *testing.T, path string, body []byte, files map[string]galleryFile, want []string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Errorf("GET %s: %v", path, err)
		return
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		file, ok := files[f.Name]
		r, err := f.Open()
		if err != nil {
			t.Errorf("%s in the ZIP of %s: %v", f.Name, path, err)
			continue
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !ok || !bytes.Equal(got, file.b) {
			t.Errorf("%s in the ZIP of %s: %d bytes (%v), want the file's %d", f.Name, path, len(got), err, len(file.b))
		}
		if ok && !f.Modified.Equal(file.mtime) {
			t.Errorf("%s in the ZIP of %s: modified %s, want the file's %s", f.Name, path, f.Modified, file.mtime)
		}
	}
	if !sameSet(names, want) {
		t.Errorf("the ZIP of %s holds %v, want %v", path, names, want)
	}
}
