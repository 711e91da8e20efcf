package account

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/mediatest"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
	"github.com/cloudkeep/cloudkeep/media"
)

// galleryFile is one file of the gallery tests' account.
type galleryFile struct {
	rel              string // "<device>/<root>/<path>"
	capture, source  string
	motion, hasThumb bool
	seed             int // the palette of its thumbnail (scenicJPEG)
	body             []byte
}

// galleryFixture is an account with a password, two devices and real
// photos and videos stored through the gate, on MinIO: seven items over
// three days, one a Live Photo (HEIC + MOV), one a RAW+JPEG with its edit
// record.
type galleryFixture struct {
	*gateEnv
	account, email, password string
	devices                  map[string]device
	files                    map[string]galleryFile // by rel
	other                    string                 // a rel key of another account
}

// newMinioGateEnv is a service with a storage gate on a fresh MinIO.
func newMinioGateEnv(t *testing.T) *gateEnv {
	t.Helper()
	m := miniotest.Start(t)
	return newGateEnv(t, s3Server{name: "minio", endpoint: m.Endpoint, bucket: m.Bucket, accessKey: m.AccessKey,
		secretKey: m.SecretKey, admin: m.Client}, 30*time.Second, 0)
}

func newGalleryFixture(t *testing.T) *galleryFixture {
	t.Helper()
	ge := newMinioGateEnv(t)
	gf := &galleryFixture{gateEnv: ge, email: "ada@example.com", password: "lovelace1815",
		devices: map[string]device{}, files: map[string]galleryFile{}}
	gf.account = ge.signup(gf.email, gf.password)
	for _, name := range []string{"phone", "laptop"} {
		tok, err := ge.svc.Connect(context.Background(), gf.account, "cloudkeep-agent", name)
		if err != nil {
			t.Fatal(err)
		}
		gf.devices[name] = device{account: gf.account, id: tok.DeviceID, access: tok.AccessToken, refresh: tok.RefreshToken}
	}
	clip, err := os.ReadFile("testdata/clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	jpeg := func(w, h int) []byte { return mediatest.JPEG(t, w, h, mediatest.EXIF{Make: "Test", Model: "Camera"}) }
	for _, f := range []galleryFile{
		{rel: "phone/Camera/IMG_0001.HEIC", capture: "2024-01-31T14:05:00+09:00", source: wire.CaptureEXIF, hasThumb: true, seed: 1,
			body: mediatest.HEIC(t, mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00"})},
		{rel: "phone/Camera/IMG_0001.MOV", capture: "2024-01-31T14:05:00+09:00", source: wire.CaptureVideo,
			body: mediatest.MOV(t, mediatest.MOVMeta{Created: time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC)})},
		{rel: "phone/Camera/IMG_0002.JPG", capture: "2024-01-31T09:30:00+09:00", source: wire.CaptureEXIF, hasThumb: true, seed: 2, body: scenicJPEG(t, 1600, 1200, 2)},
		{rel: "phone/Camera/PXL_20240131_080000000.MP.jpg", capture: "2024-01-31T08:00:00+09:00", source: wire.CaptureEXIF,
			motion: true, hasThumb: true, seed: 3, body: scenicJPEG(t, 1200, 1600, 3)},
		{rel: "laptop/Pictures/2024/DSC_0001.JPG", capture: "2024-01-30T18:00:00+01:00", source: wire.CaptureEXIF, hasThumb: true, seed: 4, body: scenicJPEG(t, 1500, 1000, 4)},
		{rel: "laptop/Pictures/2024/DSC_0001.NEF", capture: "2024-01-30T18:00:00+01:00", source: wire.CaptureEXIF,
			body: mediatest.DNG(t, mediatest.EXIF{DateTimeOriginal: "2024:01:30 18:00:00"}, 160, 120)},
		{rel: "laptop/Pictures/2024/DSC_0001.JPG.xmp", body: []byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"/>`)},
		{rel: "laptop/Videos/clip.mp4", capture: "2024-01-30T12:00:00+01:00", source: wire.CaptureVideo, body: clip},
		{rel: "phone/Camera/IMG_20231225_101010.jpg", capture: "2023-12-25T10:10:10+01:00", source: wire.CaptureName, body: jpeg(800, 600)},
		{rel: "phone/Documents/notes.pdf", capture: "2023-12-25T08:00:00Z", source: wire.CaptureMTime, body: []byte("%PDF-1.4\n%%EOF\n")},
	} {
		gf.put(f)
	}
	other := ge.connectDevice("", "phone")
	gf.other = "phone/Camera/IMG_9999.JPG"
	ge.putObject(other, other.account+"/"+gf.other, jpeg(64, 48))
	return gf
}

// put stores f through the gate with the metadata a device sends, and its
// thumbnail when it has one.
func (gf *galleryFixture) put(f galleryFile) {
	gf.t.Helper()
	dev, rest, _ := strings.Cut(f.rel, "/")
	root, p, _ := strings.Cut(rest, "/")
	dir := path.Dir(p)
	if dir == "." {
		dir = ""
	}
	sum := sha256.Sum256(f.body)
	meta := &wire.Meta{SHA256: hex.EncodeToString(sum[:]), MTime: "2024-05-01T10:00:00Z", Device: dev,
		CaptureTime: f.capture, CaptureSource: f.source, Motion: f.motion,
		Group: media.GroupID(dev, root, dir, media.GroupStem(p))}
	gf.putMeta(gf.devices[dev], gf.account+"/"+f.rel, f.body, meta)
	gf.files[f.rel] = f
	if f.hasThumb {
		thumb := scenicJPEG(gf.t, 320, 240, f.seed)
		tsum := sha256.Sum256(thumb)
		gf.putMeta(gf.devices[dev], thumbKey(gf.account, meta.SHA256), thumb,
			&wire.Meta{SHA256: hex.EncodeToString(tsum[:]), MTime: meta.MTime, Device: dev, ContentType: "image/jpeg"})
	}
}

func (gf *galleryFixture) putMeta(d device, key string, body []byte, meta *wire.Meta) {
	gf.t.Helper()
	gf.storeWithMeta(d, key, body, meta)
}

// storeWithMeta stores body at key as a device does: a put granted with
// the metadata meta, sent, and committed, so the index holds its row.
func (ge *gateEnv) storeWithMeta(d device, key string, body []byte, meta *wire.Meta) {
	ge.t.Helper()
	op := putOp(key, body)
	op.Meta = meta
	r := ge.one(d, op)
	if r.Error != nil {
		ge.t.Fatalf("grant put %s: %+v", key, r.Error)
	}
	if code, msg := send(ge.t, r, body, nil); code != 200 {
		ge.t.Fatalf("PUT %s: %d %s", key, code, msg)
	}
	if c := ge.one(d, wire.Op{Op: wire.OpCommit, Key: key}); c.Error != nil {
		ge.t.Fatalf("commit %s: %+v", key, c.Error)
	}
}

// session is a signed-in cookie of the fixture's account.
func (gf *galleryFixture) session() *http.Cookie {
	gf.t.Helper()
	token, err := gf.svc.NewSession(context.Background(), gf.account)
	if err != nil {
		gf.t.Fatal(err)
	}
	return &http.Cookie{Name: sessionCookie, Value: token}
}

// get fetches path from the gate's service with cookie (when not nil),
// without following redirects.
func galleryGet(t *testing.T, base, path string, cookie *http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var (
	tileRE = regexp.MustCompile(`<a class="tile[^"]*" href="/photos/item\?([^"]+)">`)
	dayRE  = regexp.MustCompile(`<h2 class="day" data-day="([^"]+)">([^<]+)</h2>`)
)

// tileKeys are the rel keys of a page's tiles, in order.
func tileKeys(t *testing.T, body string) []string {
	t.Helper()
	var keys []string
	for _, m := range tileRE.FindAllStringSubmatch(body, -1) {
		q, err := url.ParseQuery(strings.ReplaceAll(m[1], "&amp;", "&"))
		if err != nil {
			t.Fatalf("tile link %q: %v", m[1], err)
		}
		keys = append(keys, q.Get("key"))
	}
	return keys
}

func TestGalleryPages_GridAndFilters(t *testing.T) {
	gf := newGalleryFixture(t)
	cookie := gf.session()
	resp, body := galleryGet(t, gf.api, "/photos", cookie)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /photos: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "private, no-store" {
		t.Errorf("Cache-Control %q, want private, no-store", got)
	}
	storage := "http://" + gf.s3.endpoint
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' "+storage+";") ||
		!strings.Contains(csp, "media-src 'self' "+storage+";") || !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("CSP %q does not let images and videos come from %s", csp, storage)
	}
	want := []string{"phone/Camera/IMG_0001.HEIC", "phone/Camera/IMG_0002.JPG", "phone/Camera/PXL_20240131_080000000.MP.jpg",
		"laptop/Pictures/2024/DSC_0001.JPG", "laptop/Videos/clip.mp4", "phone/Camera/IMG_20231225_101010.jpg", "phone/Documents/notes.pdf"}
	if got := tileKeys(t, body); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tiles:\n got %q\nwant %q", got, want)
	}
	var days []string
	for _, m := range dayRE.FindAllStringSubmatch(body, -1) {
		days = append(days, m[1]+" "+m[2])
	}
	if wantDays := []string{"2024-01-31 Wednesday, 31 January 2024", "2024-01-30 Tuesday, 30 January 2024",
		"2023-12-25 Monday, 25 December 2023"}; strings.Join(days, "|") != strings.Join(wantDays, "|") {
		t.Errorf("day headers %q, want %q", days, wantDays)
	}
	for _, s := range []string{
		`<img loading="lazy" src="/photos/thumb?key=phone%2FCamera%2FIMG_0001.HEIC" alt="IMG_0001.HEIC"><span class="badge">Live</span>`,
		`<span class="badge">Motion</span>`, `<span class="badge">RAW</span>`,
		`<span class="type">MP4</span><span class="name">clip.mp4</span><span class="badge">Video</span>`,
		`<span class="type">PDF</span>`,
		`<a class="dayzip" href="/photos/download?day=2024-01-31&amp;format=zip">Download day</a>`,
		`<a class="all" href="/photos/download?format=zip">Download all shown</a>`,
		`<input type="checkbox" name="key" value="laptop/Videos/clip.mp4" aria-label="Select clip.mp4">`,
		`<button type="submit" name="format" value="txt" class="secondary">List of links (.txt)</button>`,
		`<option value="laptop">laptop</option><option value="phone">phone</option>`,
		`<option value="2024">2024</option><option value="2023">2023</option>`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("the grid lacks %s", s)
		}
	}
	if strings.Contains(body, "Older photos") {
		t.Error("one page of seven items links to older photos")
	}

	for _, c := range []struct {
		query string
		want  []string
	}{
		{"kind=video", []string{"laptop/Videos/clip.mp4"}},
		{"kind=photo", []string{"phone/Camera/IMG_0001.HEIC", "phone/Camera/IMG_0002.JPG", "phone/Camera/PXL_20240131_080000000.MP.jpg",
			"laptop/Pictures/2024/DSC_0001.JPG", "phone/Camera/IMG_20231225_101010.jpg"}},
		{"device=laptop", []string{"laptop/Pictures/2024/DSC_0001.JPG", "laptop/Videos/clip.mp4"}},
		{"year=2023", []string{"phone/Camera/IMG_20231225_101010.jpg", "phone/Documents/notes.pdf"}},
		{"year=2024&month=1&device=phone", []string{"phone/Camera/IMG_0001.HEIC", "phone/Camera/IMG_0002.JPG", "phone/Camera/PXL_20240131_080000000.MP.jpg"}},
		{"q=dsc", []string{"laptop/Pictures/2024/DSC_0001.JPG"}},
		{"q=img_0001", []string{"phone/Camera/IMG_0001.HEIC"}},
		{"q=nothing-like-this", nil},
	} {
		_, body := galleryGet(t, gf.api, "/photos?"+c.query, cookie)
		if got := tileKeys(t, body); strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: tiles %q, want %q", c.query, got, c.want)
		}
		if c.want == nil && !strings.Contains(body, `Nothing matches these filters. <a href="/photos">Clear the filters</a>`) {
			t.Errorf("%s: no word that nothing matches", c.query)
		}
	}
	_, body = galleryGet(t, gf.api, "/photos?device=laptop&kind=video", cookie)
	if !strings.Contains(body, `href="/photos/item?device=laptop&amp;key=laptop%2FVideos%2Fclip.mp4&amp;kind=video"`) ||
		!strings.Contains(body, `<option value="video" selected>Videos</option>`) {
		t.Error("the filters do not carry into the item links and the form")
	}
}

func TestGalleryPages_Empty(t *testing.T) {
	ge := newMinioGateEnv(t)
	d := ge.connectDevice("", "phone")
	token, _ := ge.svc.NewSession(context.Background(), d.account)
	resp, body := galleryGet(t, ge.api, "/photos", &http.Cookie{Name: sessionCookie, Value: token})
	if resp.StatusCode != 200 || !strings.Contains(body, "No photos yet. Connect a device: run <code>cloudkeep login</code> on it.") {
		t.Errorf("empty account: %d %s", resp.StatusCode, body)
	}
}

// Without a storage gate the service keeps no photos, and says so.
func TestGalleryPages_NoStorage(t *testing.T) {
	e := newEnv(t)
	id := e.signup("grace@example.com", "hopper1906")
	token, _ := e.svc.NewSession(context.Background(), id)
	resp, body := galleryGet(t, e.url, "/photos", &http.Cookie{Name: sessionCookie, Value: token})
	if resp.StatusCode != 200 || !strings.Contains(body, "This service keeps no storage") {
		t.Errorf("/photos without storage: %d %s", resp.StatusCode, body)
	}
	resp, body = galleryGet(t, e.url, "/photos/file?key=phone/a.jpg", &http.Cookie{Name: sessionCookie, Value: token})
	if resp.StatusCode != 404 || !strings.Contains(body, noSuchPhoto) {
		t.Errorf("/photos/file without storage: %d", resp.StatusCode)
	}
}

// A page holds 120 tiles and links to the next; the link and the
// fragment gallery.js loads carry the position, and a cursor that is not
// one starts over.
func TestGalleryPages_Paging(t *testing.T) {
	ge := newMinioGateEnv(t)
	d := ge.connectDevice("", "phone")
	rows, want := galleryRowsOver(d.account, 130, 2)
	if err := ge.gate.store.PutObjects(context.Background(), d.account, rows, nil); err != nil {
		t.Fatal(err)
	}
	token, _ := ge.svc.NewSession(context.Background(), d.account)
	cookie := &http.Cookie{Name: sessionCookie, Value: token}
	_, body := galleryGet(t, ge.api, "/photos?device=phone", cookie)
	if got := tileKeys(t, body); strings.Join(got, " ") != strings.Join(want[:120], " ") {
		t.Fatalf("first page: %d tiles %q…", len(got), got[:min(3, len(got))])
	}
	m1 := regexp.MustCompile(`<a class="more" href="(/photos\?[^"]+)" data-fragment="(/photos/more\?[^"]+)">Older photos</a>`).FindStringSubmatch(body)
	if m1 == nil {
		t.Fatal("no link to older photos")
	}
	next, frag := strings.ReplaceAll(m1[1], "&amp;", "&"), strings.ReplaceAll(m1[2], "&amp;", "&")
	u, _ := url.Parse(next)
	if c := parseCursor(d.account, u.Query().Get("after")); c != rows[119].Cursor() || u.Query().Get("device") != "phone" {
		t.Errorf("the link's cursor %+v, want %+v (and the filters): %s", c, rows[119].Cursor(), next)
	}
	_, body = galleryGet(t, ge.api, next, cookie)
	if got := tileKeys(t, body); strings.Join(got, " ") != strings.Join(want[120:], " ") || strings.Contains(body, "Older photos") {
		t.Errorf("second page: %q", got)
	}
	resp, body := galleryGet(t, ge.api, frag, cookie)
	if got := tileKeys(t, body); resp.StatusCode != 200 || strings.Join(got, " ") != strings.Join(want[120:], " ") ||
		strings.Contains(body, "<html") || !strings.HasPrefix(body, `<div class="grid">`) {
		t.Errorf("fragment: %d %q\n%.200s", resp.StatusCode, got, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "private, no-store" {
		t.Errorf("fragment Cache-Control %q", got)
	}
	// The fragment starts with its day's header even when the page before
	// ended on that day: gallery.js drops it.
	if days := dayRE.FindAllStringSubmatch(body, -1); len(days) == 0 || !strings.HasPrefix(body, `<div class="grid">`+"\n"+`<div class="dayhead">`) {
		t.Errorf("the fragment has no day header first: %.200s", body)
	}
	for _, bad := range []string{"x", "12", "12.%%%", "abc.cGhvbmU", "1." + base64URL("../x"), "1." + base64URL("")} {
		_, body := galleryGet(t, ge.api, "/photos?after="+url.QueryEscape(bad), cookie)
		if got := tileKeys(t, body); len(got) != 120 || got[0] != want[0] {
			t.Errorf("after=%s: does not start over: %d tiles", bad, len(got))
		}
	}
}

// galleryRowsOver are n index rows of photos, perDay a day, and their
// rel keys newest first.
func galleryRowsOver(account string, n, perDay int) ([]StoredObject, []string) {
	var rows []StoredObject
	var want []string
	day := time.Date(2024, 6, 30, 12, 0, 0, 0, time.FixedZone("", 2*3600))
	for i := range n {
		at := day.AddDate(0, 0, -i/perDay).Add(-time.Duration(i%perDay) * time.Hour)
		rel := fmt.Sprintf("phone/DCIM/IMG_%04d.JPG", n-i)
		rows = append(rows, StoredObject{AccountID: account, Key: account + "/" + rel, Size: 1000, ETag: "e",
			MTime: "2024-07-01T00:00:00Z", Device: "phone", Capture: at.Format(time.RFC3339), CaptureSource: wire.CaptureEXIF,
			Group: media.GroupID("phone", "DCIM", "", strconv.Itoa(i))})
		want = append(want, rel)
	}
	return rows, want
}

func TestGalleryPages_Cursor(t *testing.T) {
	for _, c := range []GalleryCursor{
		{CaptureNanos: 1706677500000000000, Key: "1234567890/phone/Camera/IMG 1.jpg"},
		{CaptureNanos: -9223372036854775808, Key: "1234567890/a/b/ü.mp4"},
		{CaptureNanos: 0, Key: "1234567890/laptop/x.y.z"},
	} {
		s := formatCursor("1234567890", c)
		if got := parseCursor("1234567890", s); got != c {
			t.Errorf("%+v → %q → %+v", c, s, got)
		}
		if strings.Contains(s, "1234567890/") {
			t.Errorf("the cursor %q holds the full key", s)
		}
	}
	if got := parseCursor("1234567890", "5."+base64URL("phone/..")); got != (GalleryCursor{}) {
		t.Errorf("a cursor with a .. segment: %+v", got)
	}
}

func base64URL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestGalleryPages_Item(t *testing.T) {
	gf := newGalleryFixture(t)
	cookie := gf.session()
	resp, body := galleryGet(t, gf.api, "/photos/item?key="+url.QueryEscape("phone/Camera/IMG_0001.HEIC"), cookie)
	if resp.StatusCode != 200 {
		t.Fatalf("item: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "private, no-store" {
		t.Errorf("Cache-Control %q", got)
	}
	for _, s := range []string{
		`<dd id="taken">31 January 2024, 14:05 (UTC&#43;09:00)</dd>`,
		`<dd id="device">phone</dd>`, `<dd id="folder">phone/Camera</dd>`,
		`<span class="role">Live Photo video</span> <span class="name">IMG_0001.MOV</span>`,
		`href="/photos/file?download=1&amp;key=phone%2FCamera%2FIMG_0001.MOV"`,
		`<a class="button" id="download" href="/photos/file?key=phone%2FCamera%2FIMG_0001.HEIC&amp;download=1">Download original</a>`,
		`<img id="photo" src="/photos/thumb?key=phone%2FCamera%2FIMG_0001.HEIC"`,
		`<a id="older" rel="next" href="/photos/item?key=phone%2FCamera%2FIMG_0002.JPG">`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("the Live Photo's page lacks %s", s)
		}
	}
	if strings.Contains(body, `id="newer"`) {
		t.Error("the newest photo links to a newer one")
	}
	_, body = galleryGet(t, gf.api, "/photos/item?kind=photo&key="+url.QueryEscape("laptop/Pictures/2024/DSC_0001.JPG"), cookie)
	for _, s := range []string{
		`<img id="photo" src="/photos/file?key=laptop%2FPictures%2F2024%2FDSC_0001.JPG"`,
		`<span class="role">RAW</span> <span class="name">DSC_0001.NEF</span>`, `<span class="role">Edit record</span> <span class="name">DSC_0001.JPG.xmp</span>`,
		`<a id="newer" rel="prev" href="/photos/item?key=phone%2FCamera%2FPXL_20240131_080000000.MP.jpg&amp;kind=photo">`,
		`<a id="older" rel="next" href="/photos/item?key=phone%2FCamera%2FIMG_20231225_101010.jpg&amp;kind=photo">`, // past the video
	} {
		if !strings.Contains(body, s) {
			t.Errorf("the RAW+JPEG's page lacks %s", s)
		}
	}
	_, body = galleryGet(t, gf.api, "/photos/item?key="+url.QueryEscape("laptop/Videos/clip.mp4"), cookie)
	if !strings.Contains(body, `<video id="video" controls playsinline preload="metadata" src="/photos/file?key=laptop%2FVideos%2Fclip.mp4">`) {
		t.Errorf("the video's page has no player: %s", body)
	}
	_, body = galleryGet(t, gf.api, "/photos/item?key="+url.QueryEscape("phone/Camera/IMG_20231225_101010.jpg"), cookie)
	if !strings.Contains(body, "25 December 2023, 10:10 (UTC&#43;01:00), from the file name") {
		t.Error("a time from the file name is not said to be one")
	}
	_, body = galleryGet(t, gf.api, "/photos/item?key="+url.QueryEscape("phone/Documents/notes.pdf"), cookie)
	if !strings.Contains(body, "25 December 2023, 08:00 (UTC&#43;00:00), the file&#39;s time") ||
		!strings.Contains(body, "PDF: this browser cannot show the file") {
		t.Errorf("the PDF's page: %s", body)
	}
}

// Every way to name what the account may not see gets the same answer.
func TestGalleryPages_NoSuchPhoto(t *testing.T) {
	gf := newGalleryFixture(t)
	cookie := gf.session()
	sha := hex.EncodeToString(func() []byte { s := sha256.Sum256(gf.files["phone/Camera/IMG_0002.JPG"].body); return s[:] }())
	for _, rel := range []string{gf.other, "phone/Camera/IMG_0404.JPG", ".thumbs/" + sha + ".jpg", "phone/../phone/Camera/IMG_0002.JPG",
		"", "../" + gf.other, "laptop/Videos/clip.mp4\x00"} {
		for _, p := range []string{"/photos/item", "/photos/file", "/photos/thumb"} {
			resp, body := galleryGet(t, gf.api, p+"?key="+url.QueryEscape(rel), cookie)
			if resp.StatusCode != 404 || !strings.Contains(body, `<p class="error" role="alert">No such photo.</p>`) {
				t.Errorf("%s %q: %d, want 404 No such photo.", p, rel, resp.StatusCode)
			}
			if got := resp.Header.Get("Cache-Control"); got != "private, no-store" {
				t.Errorf("%s %q: Cache-Control %q", p, rel, got)
			}
		}
	}
	resp, _ := galleryGet(t, gf.api, "/photos/thumb?key="+url.QueryEscape("laptop/Videos/clip.mp4"), cookie)
	if resp.StatusCode != 404 {
		t.Errorf("the thumbnail of a video without one: %d", resp.StatusCode)
	}
}

// The files and thumbnails are redirects to URLs signed just then, which
// serve the bytes, shown or saved as the file's kind asks.
func TestGalleryPages_Redirects(t *testing.T) {
	gf := newGalleryFixture(t)
	cookie := gf.session()
	for _, c := range []struct {
		query, rel, ctype, disposition string
	}{
		{"key=phone%2FCamera%2FIMG_0002.JPG", "phone/Camera/IMG_0002.JPG", "image/jpeg", `inline; filename="IMG_0002.JPG"; filename*=UTF-8''IMG_0002.JPG`},
		{"key=phone%2FCamera%2FIMG_0002.JPG&download=1", "phone/Camera/IMG_0002.JPG", "", `attachment; filename="IMG_0002.JPG"; filename*=UTF-8''IMG_0002.JPG`},
		{"key=phone%2FCamera%2FIMG_0001.MOV", "phone/Camera/IMG_0001.MOV", "video/mp4", `inline; filename="IMG_0001.MOV"; filename*=UTF-8''IMG_0001.MOV`},
		{"key=laptop%2FVideos%2Fclip.mp4", "laptop/Videos/clip.mp4", "video/mp4", `inline; filename="clip.mp4"; filename*=UTF-8''clip.mp4`},
		{"key=phone%2FCamera%2FIMG_0001.HEIC", "phone/Camera/IMG_0001.HEIC", "", `attachment; filename="IMG_0001.HEIC"; filename*=UTF-8''IMG_0001.HEIC`},
		{"key=laptop%2FPictures%2F2024%2FDSC_0001.JPG.xmp", "laptop/Pictures/2024/DSC_0001.JPG.xmp", "", `attachment; filename="DSC_0001.JPG.xmp"; filename*=UTF-8''DSC_0001.JPG.xmp`},
	} {
		resp, _ := galleryGet(t, gf.api, "/photos/file?"+c.query, cookie)
		body := checkStorageRedirect(t, gf.gateEnv, resp, gf.account+"/"+c.rel, c.ctype, c.disposition)
		if body != string(gf.files[c.rel].body) {
			t.Errorf("%s: the storage sent %d bytes, want the file's %d", c.query, len(body), len(gf.files[c.rel].body))
		}
	}
	sum := sha256.Sum256(gf.files["phone/Camera/IMG_0002.JPG"].body)
	resp, _ := galleryGet(t, gf.api, "/photos/thumb?key=phone%2FCamera%2FIMG_0002.JPG", cookie)
	thumb := checkStorageRedirect(t, gf.gateEnv, resp, thumbKey(gf.account, hex.EncodeToString(sum[:])), "image/jpeg", "")
	if !strings.HasPrefix(thumb, "\xff\xd8") {
		t.Error("the thumbnail is not a JPEG")
	}
}

// checkStorageRedirect checks that resp sends the browser to key in the
// storage for at most 5 minutes, and returns what the storage serves.
func checkStorageRedirect(t *testing.T, ge *gateEnv, resp *http.Response, key, ctype, disposition string) string {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("%s: %d, want 302", key, resp.StatusCode)
	}
	if got := resp.Header.Get("Cache-Control"); got != "private, max-age=60" {
		t.Errorf("%s: Cache-Control %q", key, got)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || u.Host != ge.s3.endpoint || u.Path != "/"+ge.s3.bucket+"/"+key {
		t.Fatalf("%s: redirect to %s", key, resp.Header.Get("Location"))
	}
	q := u.Query()
	if n, err := strconv.Atoi(q.Get("X-Amz-Expires")); err != nil || n <= 0 || n > 300 {
		t.Errorf("%s: X-Amz-Expires %q, want at most 300", key, q.Get("X-Amz-Expires"))
	}
	if q.Get("response-content-type") != ctype || q.Get("response-content-disposition") != disposition {
		t.Errorf("%s: type %q disposition %q, want %q %q", key, q.Get("response-content-type"),
			q.Get("response-content-disposition"), ctype, disposition)
	}
	got, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	b, _ := io.ReadAll(got.Body)
	if got.StatusCode != 200 || got.Header.Get("Cache-Control") != "private, max-age=300" {
		t.Errorf("%s: the storage answers %d, Cache-Control %q", key, got.StatusCode, got.Header.Get("Cache-Control"))
	}
	if ctype != "" && got.Header.Get("Content-Type") != ctype {
		t.Errorf("%s: served as %q, want %q", key, got.Header.Get("Content-Type"), ctype)
	}
	return string(b)
}

func TestGalleryPages_SignedOut(t *testing.T) {
	gf := newGalleryFixture(t)
	for _, p := range []string{"/photos?kind=video", "/photos/more?after=1.eA", "/photos/item?key=phone%2FCamera%2FIMG_0002.JPG",
		"/photos/file?key=phone%2FCamera%2FIMG_0002.JPG", "/photos/thumb?key=phone%2FCamera%2FIMG_0002.JPG"} {
		resp, _ := galleryGet(t, gf.api, p, nil)
		if want := "/signin?next=" + url.QueryEscape(p); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("%s signed out: %d to %q, want 303 to %q", p, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}

func TestGalleryPages_ContentDisposition(t *testing.T) {
	for name, want := range map[string]string{
		"IMG_0001.JPG":       `attachment; filename="IMG_0001.JPG"; filename*=UTF-8''IMG_0001.JPG`,
		"Grüße \"2024\".jpg": `attachment; filename="Gr__e _2024_.jpg"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%222024%22.jpg`,
		"a;b\\c.mp4":         `attachment; filename="a;b_c.mp4"; filename*=UTF-8''a%3Bb%5Cc.mp4`,
	} {
		if got := contentDisposition("attachment", name); got != want {
			t.Errorf("%q: %s, want %s", name, got, want)
		}
	}
}
