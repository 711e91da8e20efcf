package account

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/pgtest"
	"github.com/cloudkeep/cloudkeep/media"
)

// libraryAccount is the account whose gallery the page benchmark reads;
// libraryOther holds rows of its own in the same table.
const libraryAccount, libraryOther = "1000000001", "1000000002"

// syntheticLibrary is n index rows of account as devices write them: shots
// over about five years, each a plain photo, a Live Photo (HEIC + MOV in one
// group), a RAW+JPEG with its edit record, a video, a motion photo or a
// screenshot, and a thumbnail row .thumbs/<sha256>.jpg for nine photos in
// ten. A shot in 50 has no capture time (the day is the file's date).
func syntheticLibrary(account string, n int) []StoredObject {
	zones := []*time.Location{time.FixedZone("", 2*3600), time.FixedZone("", 9*3600), time.FixedZone("", -5*3600), time.UTC}
	base := time.Date(2020, 1, 1, 8, 0, 0, 0, time.UTC)
	step := 5 * 365 * 24 * time.Hour / time.Duration(n/2)
	var rows []StoredObject
	add := func(dev, root, dir, name, capture, mtime, group string, motion bool) StoredObject {
		rel := path.Join(dev, root, dir, name)
		sum := sha256.Sum256([]byte(account + "/" + rel))
		o := StoredObject{AccountID: account, Key: account + "/" + rel, Size: 2_500_000, ETag: "e", SHA256: hex.EncodeToString(sum[:]),
			MTime: mtime, Device: dev, Capture: capture, Group: group, Motion: motion}
		if capture != "" {
			o.CaptureSource = wire.CaptureEXIF
		}
		rows = append(rows, o)
		return o
	}
	thumb := func(o StoredObject, shot int) {
		if shot%10 != 9 {
			rows = append(rows, StoredObject{AccountID: account, Key: thumbKey(account, o.SHA256), Size: 30_000, ETag: "t",
				MTime: o.MTime, Device: o.Device})
		}
	}
	for shot := 0; len(rows) < n; shot++ {
		at := base.Add(time.Duration(shot) * step).In(zones[shot%len(zones)])
		capture, mtime := at.Format(time.RFC3339), at.Add(time.Hour).UTC().Format(time.RFC3339)
		if shot%50 == 49 {
			capture = ""
		}
		stem := fmt.Sprintf("IMG_%05d", shot)
		switch shot % 10 {
		case 0, 1, 2: // a phone's photo
			thumb(add("phone", "Camera", "", stem+".JPG", capture, mtime, media.GroupID("phone", "Camera", "", stem), false), shot)
		case 3, 4: // a Live Photo
			g := media.GroupID("phone", "Camera", "", stem)
			thumb(add("phone", "Camera", "", stem+".HEIC", capture, mtime, g, false), shot)
			add("phone", "Camera", "", stem+".MOV", capture, mtime, g, false)
		case 5: // a camera's RAW+JPEG and its edit record
			dir := fmt.Sprintf("%d", at.Year())
			g := media.GroupID("camera", "DCIM", dir, stem)
			add("camera", "DCIM", dir, stem+".NEF", capture, mtime, g, false)
			thumb(add("camera", "DCIM", dir, stem+".JPG", capture, mtime, g, false), shot)
			add("camera", "DCIM", dir, stem+".JPG.xmp", "", mtime, g, false)
		case 6: // a video
			add("phone", "Camera", "", stem+".MP4", capture, mtime, media.GroupID("phone", "Camera", "", stem), false)
		case 7: // a motion photo
			name := "PXL_" + stem + ".MP.jpg"
			thumb(add("tablet", "DCIM", "Camera", name, capture, mtime, media.GroupID("tablet", "DCIM", "Camera", media.GroupStem(name)), true), shot)
		case 8: // a laptop's photo
			thumb(add("laptop", "Pictures", "Holidays", stem+".jpg", capture, mtime, media.GroupID("laptop", "Pictures", "Holidays", stem), false), shot)
		case 9: // a screenshot, no thumbnail
			add("laptop", "Pictures", "Screenshots", stem+".png", capture, mtime, media.GroupID("laptop", "Pictures", "Screenshots", stem), false)
		}
	}
	for i := range rows {
		rows[i].Kind = objectKind(account, rows[i].Key)
	}
	return rows[:n]
}

// galleryModel is what the gallery shows of rows under f: the tiles'
// rows newest first (with the thumbnail rows for the caller's lookups).
func galleryModel(rows []StoredObject, account string, f GalleryFilter) []StoredObject {
	groups := map[string][]StoredObject{}
	for _, o := range rows {
		if o.Group != "" {
			groups[o.Group] = append(groups[o.Group], o)
		}
	}
	has := func(g []StoredObject, ok func(StoredObject) bool) bool { return slices.ContainsFunc(g, ok) }
	var tiles []StoredObject
	for _, o := range rows {
		rel := relKey(account, o.Key)
		g := groups[o.Group]
		switch {
		case o.AccountID != account, o.Kind == KindHidden, o.Kind == KindSidecar,
			f.Kind != "" && o.Kind != f.Kind, f.Device != "" && o.Device != f.Device,
			f.Month != "" && !strings.HasPrefix(cmp.Or(o.Capture, o.MTime), f.Month), // no capture time: the file's
			!strings.Contains(strings.ToLower(rel), strings.ToLower(f.Search)),
			o.Kind == KindVideo && has(g, func(m StoredObject) bool { return m.Kind == KindPhoto }),
			o.Kind == KindPhoto && media.IsRAW(o.Key) && has(g, func(m StoredObject) bool { return m.Kind == KindPhoto && !media.IsRAW(m.Key) }):
			continue
		}
		tiles = append(tiles, o)
	}
	slices.SortFunc(tiles, func(a, b StoredObject) int {
		return cmp.Or(cmp.Compare(b.CaptureNanos(), a.CaptureNanos()), strings.Compare(b.Key, a.Key))
	})
	return tiles
}

// modelDays are the day headers of tiles as the page writes them:
// "<data-day> <label>".
func modelDays(tiles []StoredObject) []string {
	var days []string
	last := ""
	for _, o := range tiles {
		h := headOfModel(o)
		if h != last {
			days, last = append(days, h), h
		}
	}
	return days
}

func headOfModel(o StoredObject) string {
	if o.Capture != "" {
		d, _ := time.Parse(time.DateOnly, o.Capture[:10])
		return d.Format(time.DateOnly) + " " + d.Format("Monday, 2 January 2006")
	}
	d, _ := time.Parse(time.DateOnly, o.MTime[:10])
	return "file-" + d.Format(time.DateOnly) + " " + d.Format("Monday, 2 January 2006") + " (file date)"
}

// pageEnv is the real account handler with a storage gate over an index
// of synthetic rows; the gate's storage is never asked (the pages do not
// call it, and its region is given).
type pageEnv struct {
	api    string
	cookie *http.Cookie
	rows   []StoredObject // the rows of libraryAccount
}

func newPageEnv(tb testing.TB, open func(testing.TB, string) (Store, error), n int) *pageEnv {
	tb.Helper()
	e := newEnvOn(tb, open)
	ctx := context.Background()
	for _, id := range []string{libraryAccount, libraryOther} {
		if err := e.svc.store.CreateAccount(ctx, Account{ID: id, Email: id + "@example.com", Region: "DE",
			BirthDate: time.Date(1990, 4, 1, 0, 0, 0, 0, time.UTC), PasswordHash: "x", Created: time.Now()}); err != nil {
			tb.Fatal(err)
		}
	}
	store := e.svc.store.(ObjectStore)
	pe := &pageEnv{rows: syntheticLibrary(libraryAccount, n)}
	seedGallery(tb, store, map[string][]StoredObject{libraryAccount: pe.rows, libraryOther: syntheticLibrary(libraryOther, n/10)})
	g, err := NewGate(GateConfig{Endpoint: "127.0.0.1:9", Bucket: "photos", Region: "us-east-1", AccessKey: "bench",
		SecretKey: "bench-secret", GrantTTL: 30 * time.Second}, store, zerolog.Nop())
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(e.svc, zerolog.Nop(), WithGate(g)))
	tb.Cleanup(srv.Close)
	token, err := e.svc.NewSession(ctx, libraryAccount)
	if err != nil {
		tb.Fatal(err)
	}
	pe.api, pe.cookie = srv.URL, &http.Cookie{Name: sessionCookie, Value: token}
	return pe
}

// pages are the requests the benchmark times: the first page with each
// filter, a page deep in the gallery (after the tile at 90 % of it) and
// the item page of a Live Photo half-way down.
func (pe *pageEnv) pages() []struct{ name, path string } {
	all := galleryModel(pe.rows, libraryAccount, GalleryFilter{})
	deep := all[len(all)*9/10]
	i := len(all) / 2
	for all[i].Kind != KindPhoto || !strings.HasSuffix(all[i].Key, ".HEIC") {
		i++
	}
	return []struct{ name, path string }{
		{"first", "/photos"},
		{"video", "/photos?kind=video"},
		{"month", "/photos?year=2022&month=6"},
		{"search", "/photos?q=img_0123"},
		{"deep", "/photos/more?after=" + url.QueryEscape(formatCursor(libraryAccount, deep.Cursor()))},
		{"item", "/photos/item?key=" + url.QueryEscape(relKey(libraryAccount, all[i].Key))},
	}
}

// get fetches path with the session and returns the status and body.
func (pe *pageEnv) get(tb testing.TB, p string) (int, string) {
	req, _ := http.NewRequest("GET", pe.api+p, nil)
	req.AddCookie(pe.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// pageStore is a store the page benchmark and test run on.
type pageStore struct {
	name string
	open func(testing.TB, string) (Store, error)
}

// pageStores are SQLite, and PostgreSQL where the test cluster's binaries
// are.
func pageStores() []pageStore {
	out := []pageStore{{"sqlite", openSQLite}}
	if _, err := pgtest.BinDir(); err == nil {
		out = append(out, pageStore{"postgres", openPostgres})
	}
	return out
}

// BenchmarkGalleryPage renders the gallery's pages of an account of
// 100,000 index rows (and 10,000 of another account) through the account
// handler, signed in: milliseconds a page, and its size.
func BenchmarkGalleryPage(b *testing.B) {
	for _, s := range pageStores() {
		pe := newPageEnv(b, s.open, 100_000)
		for _, p := range pe.pages() {
			b.Run(s.name+"/"+p.name, func(b *testing.B) {
				var size int
				for b.Loop() {
					code, body := pe.get(b, p.path)
					if code != 200 {
						b.Fatalf("GET %s: %d %.300s", p.path, code, body)
					}
					if p.name == "first" {
						if n := len(tileRE.FindAllString(body, -1)); n != galleryTiles {
							b.Fatalf("the first page has %d tiles, want %d", n, galleryTiles)
						}
					}
					size = len(body)
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
				b.ReportMetric(float64(size), "page-bytes")
			})
		}
	}
}

var moreRE = regexp.MustCompile(`<a class="more" href="/photos\?[^"]*after=`)

// The benchmark's pages, on 2,000 rows, show the tiles and day headers
// they should, newest first, with the link to older ones.
func TestGalleryPageShort(t *testing.T) {
	for _, s := range pageStores() {
		t.Run(s.name, func(t *testing.T) {
			pe := newPageEnv(t, s.open, 2000)
			all := galleryModel(pe.rows, libraryAccount, GalleryFilter{})
			deep := len(all) * 9 / 10
			// The last tiles: those whose day is the file's date.
			tail := len(all) - 100
			pages := append(pe.pages(), struct{ name, path string }{"tail",
				"/photos/more?after=" + url.QueryEscape(formatCursor(libraryAccount, all[tail].Cursor()))})
			for _, p := range pages {
				code, body := pe.get(t, p.path)
				if code != 200 {
					t.Fatalf("GET %s: %d %.300s", p.path, code, body)
				}
				if p.name == "item" {
					key, _ := url.ParseQuery(strings.TrimPrefix(p.path, "/photos/item?"))
					name := path.Base(key.Get("key"))
					mov := strings.TrimSuffix(name, ".HEIC") + ".MOV"
					if !strings.Contains(body, "<title>"+name) || !strings.Contains(body, `<span class="role">Live Photo video</span> <span class="name">`+mov+"</span>") ||
						!strings.Contains(body, `id="newer"`) || !strings.Contains(body, `id="older"`) {
						t.Errorf("the item page of %s does not show it with its video %s and its neighbours: %.1500s", key.Get("key"), mov, body)
					}
					continue
				}
				u, _ := url.Parse(p.path)
				r := &http.Request{Form: u.Query()}
				want := galleryModel(pe.rows, libraryAccount, galleryFilterFrom(r))
				switch p.name {
				case "deep":
					want = all[deep+1:]
				case "tail":
					want = all[tail+1:]
					if !strings.Contains(body, "(file date)</h2>") {
						t.Errorf("%s: no day by the file's date", p.path)
					}
				}
				more := len(want) > galleryTiles
				want = want[:min(len(want), galleryTiles)]
				var wantKeys []string
				for _, o := range want {
					wantKeys = append(wantKeys, relKey(libraryAccount, o.Key))
				}
				if got := tileKeys(t, body); strings.Join(got, " ") != strings.Join(wantKeys, " ") {
					t.Errorf("%s: %d tiles %.3q…, want %d %.3q…", p.path, len(got), got, len(wantKeys), wantKeys)
				}
				var days []string
				for _, m := range dayRE.FindAllStringSubmatch(body, -1) {
					days = append(days, m[1]+" "+m[2])
				}
				if w := modelDays(want); strings.Join(days, "|") != strings.Join(w, "|") {
					t.Errorf("%s: day headers\n got %q\nwant %q", p.path, days, w)
				}
				if p.name == "first" && len(want) != galleryTiles || p.name != "search" && len(want) < 10 {
					t.Errorf("%s: the model's page has %d tiles", p.path, len(want))
				}
				if got := moreRE.MatchString(body); got != more {
					t.Errorf("%s: link to older photos %v, want %v", p.path, got, more)
				}
			}
		})
	}
}
