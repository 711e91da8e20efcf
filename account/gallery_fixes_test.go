package account

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/mediatest"
	"github.com/cloudkeep/cloudkeep/internal/pgtest"
)

// newGalleryOf is a gallery fixture with one connected device, "phone",
// and no files yet.
func newGalleryOf(t *testing.T) *galleryFixture {
	t.Helper()
	ge := newMinioGateEnv(t)
	d := ge.connectDevice("", "phone")
	return &galleryFixture{gateEnv: ge, account: d.account, devices: map[string]device{"phone": d}, files: map[string]galleryFile{}}
}

// Pages show names as the files were called ("50% off.png", a name that
// was not UTF-8 with U+FFFD), never as keys, which stay in the URLs.
func TestGalleryPages_PlainNames(t *testing.T) {
	gf := newGalleryOf(t)
	png := mediatest.PNG(t, 64, 48)
	for _, f := range []galleryFile{
		{rel: "phone/Camera/50%25 off.png", capture: "2024-03-02T10:00:00Z", source: wire.CaptureEXIF, body: png},
		{rel: "phone/Caf%E9/caf%E9.png", capture: "2024-03-01T10:00:00Z", source: wire.CaptureEXIF, body: png},
		{rel: "phone/Caf%E9/caf%E9.png.xmp", body: []byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"/>`)},
	} {
		gf.put(f)
	}
	cookie := gf.session()
	resp, body := galleryGet(t, gf.api, "/photos", cookie)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /photos: %d %s", resp.StatusCode, body)
	}
	for _, s := range []string{
		`href="/photos/item?key=phone%2FCamera%2F50%2525&#43;off.png"`,
		`<span class="name">50% off.png</span>`, `aria-label="Select 50% off.png"`, `value="phone/Camera/50%25 off.png"`,
		`<span class="name">caf` + "\uFFFD" + `.png</span>`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("the grid lacks %s", s)
		}
	}
	if strings.Contains(body, ">50%25") || strings.Contains(body, "Select 50%25") || strings.Contains(body, "caf%E9.png<") {
		t.Error("the grid shows a key as a name")
	}

	_, body = galleryGet(t, gf.api, "/photos/item?key="+url.QueryEscape("phone/Caf%E9/caf%E9.png"), cookie)
	for _, s := range []string{
		"<title>caf\uFFFD.png · cloudkeep</title>", `<dd id="folder">phone/Caf` + "\uFFFD</dd>",
		`<span class="name">caf` + "\uFFFD" + `.png.xmp</span>`,
		`href="/photos/file?download=1&amp;key=phone%2FCaf%25E9%2Fcaf%25E9.png.xmp"`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("the item page lacks %s", s)
		}
	}
	_, body = galleryGet(t, gf.api, "/photos/item?key="+url.QueryEscape("phone/Camera/50%25 off.png"), cookie)
	if !strings.Contains(body, "<title>50% off.png · cloudkeep</title>") || !strings.Contains(body, `<dd id="folder">phone/Camera</dd>`) {
		t.Errorf("the item page of 50%% off.png: %s", body)
	}

	resp, _ = galleryGet(t, gf.api, "/photos/file?download=1&key="+url.QueryEscape("phone/Camera/50%25 off.png"), cookie)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if got, want := loc.Query().Get("response-content-disposition"),
		`attachment; filename="50% off.png"; filename*=UTF-8''50%25%20off.png`; resp.StatusCode != 302 || got != want {
		t.Errorf("download: %d, disposition %q, want %q", resp.StatusCode, got, want)
	}
}

// With the accounts database not answering, a signed-in browser is told
// to come back, never sent to sign in again: 503 with Retry-After. No
// session, or one the database does not know, still leads to sign in.
func TestSignIn_StoreDown(t *testing.T) {
	e := newEnv(t)
	id := e.signup("grace@example.com", "hopper1906")
	token, err := e.svc.NewSession(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	cookie := &http.Cookie{Name: sessionCookie, Value: token}
	unknown := &http.Cookie{Name: sessionCookie, Value: "not-a-session"}
	for _, p := range []string{"/photos", "/account"} {
		if resp, body := galleryGet(t, e.url, p, unknown); resp.StatusCode != 303 ||
			resp.Header.Get("Location") != "/signin?next="+url.QueryEscape(p) {
			t.Errorf("%s with an unknown session: %d %s", p, resp.StatusCode, body)
		}
	}
	if err := e.svc.store.(interface{ Close() error }).Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/photos", "/account", "/photos/file?key=phone/a.jpg", "/photos/item?key=phone/a.jpg"} {
		resp, body := galleryGet(t, e.url, p, cookie)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "30" ||
			!strings.Contains(body, `<p class="error" role="alert">The service cannot reach its database right now: try again in a minute.</p>`) {
			t.Errorf("%s with the database closed: %d, Retry-After %q, %s", p, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	if resp, _ := galleryGet(t, e.url, "/photos", nil); resp.StatusCode != 303 {
		t.Errorf("/photos without a session, the database closed: %d, want 303 to sign in", resp.StatusCode)
	}
}

// A file without a capture time sorts, and is found, by its file's time:
// its "(file date)" day has a Download day link whose list holds it.
func TestGalleryPages_FileDate(t *testing.T) {
	gf := newGalleryOf(t)
	png := mediatest.PNG(t, 64, 48)
	for _, f := range []galleryFile{
		{rel: "phone/Camera/june.png", capture: "2024-06-01T10:00:00+02:00", source: wire.CaptureEXIF, body: png},
		{rel: "phone/Documents/notes.pdf", body: []byte("%PDF-1.4\n%%EOF\n")}, // file time 2024-05-01T10:00:00Z
		{rel: "phone/Camera/april.png", capture: "2024-04-01T10:00:00+02:00", source: wire.CaptureEXIF, body: png},
	} {
		gf.put(f)
	}
	cookie := gf.session()
	_, body := galleryGet(t, gf.api, "/photos", cookie)
	want := []string{"phone/Camera/june.png", "phone/Documents/notes.pdf", "phone/Camera/april.png"}
	if got := tileKeys(t, body); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tiles %q, want %q", got, want)
	}
	head := `<h2 class="day" data-day="file-2024-05-01">Wednesday, 1 May 2024 (file date)</h2>` +
		`<a class="dayzip" href="/photos/download?day=2024-05-01&amp;format=zip">Download day</a>`
	if !strings.Contains(body, head) {
		t.Errorf("the grid lacks %s", head)
	}
	for q, want := range map[string][]string{
		"year=2024&month=5": {"phone/Documents/notes.pdf"},
		"year=2024&month=4": {"phone/Camera/april.png"},
		"year=2024":         want,
		"day=2024-05-01":    {"phone/Documents/notes.pdf"},
	} {
		if _, body := galleryGet(t, gf.api, "/photos?"+q, cookie); strings.Join(tileKeys(t, body), " ") != strings.Join(want, " ") {
			t.Errorf("%s: tiles %q, want %q", q, tileKeys(t, body), want)
		}
	}
	resp, body := galleryGet(t, gf.api, "/photos/download?day=2024-05-01&format=txt", cookie)
	if resp.StatusCode != 200 || !strings.Contains(body, "notes.pdf") || strings.Contains(body, "april.png") || strings.Contains(body, "june.png") {
		t.Errorf("the day's list: %d %s", resp.StatusCode, body)
	}
}

// A month without a year filters nothing, and says so, keeping the month.
func TestGalleryPages_MonthWithoutYear(t *testing.T) {
	gf := newGalleryOf(t)
	png := mediatest.PNG(t, 64, 48)
	gf.put(galleryFile{rel: "phone/Camera/may.png", capture: "2024-05-01T10:00:00Z", source: wire.CaptureEXIF, body: png})
	gf.put(galleryFile{rel: "phone/Camera/june.png", capture: "2023-06-01T10:00:00Z", source: wire.CaptureEXIF, body: png})
	cookie := gf.session()
	_, body := galleryGet(t, gf.api, "/photos?month=5", cookie)
	if !strings.Contains(body, `<p class="notice" role="status">Pick a year to choose a month.</p>`) ||
		!strings.Contains(body, `<option value="5" selected>May</option>`) || len(tileKeys(t, body)) != 2 {
		t.Errorf("month without a year: tiles %q, %s", tileKeys(t, body), body)
	}
	_, body = galleryGet(t, gf.api, "/photos?month=5&year=2024", cookie)
	if strings.Contains(body, "Pick a year") || !strings.Contains(body, `<option value="5" selected>May</option>`) {
		t.Error("a month with its year gets the notice, or loses the month")
	}
}

// With the storage not answering, the grid says why its images are
// missing, within the check's time, and the next look within 10 s is
// not asked again; a storage that answers gets no such line.
func TestGalleryPages_StorageDown(t *testing.T) {
	e := newEnv(t)
	id := e.signup("grace@example.com", "hopper1906")
	g, err := NewGate(GateConfig{Endpoint: "127.0.0.1:1", Bucket: "b", Region: "us-east-1", AccessKey: "k",
		SecretKey: "secret-key", GrantTTL: 30 * time.Second}, e.svc.store.(ObjectStore), e.svc.log)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(NewHandler(e.svc, e.svc.log, WithGate(g)))
	t.Cleanup(hs.Close)
	srv := hs.URL
	token, _ := e.svc.NewSession(context.Background(), id)
	cookie := &http.Cookie{Name: sessionCookie, Value: token}
	line := `<p class="error" role="alert" id="storage-down">The storage is not answering: photos cannot be shown or downloaded right now.</p>`
	for i := range 2 {
		start := time.Now()
		resp, body := galleryGet(t, srv, "/photos", cookie)
		took := time.Since(start)
		if resp.StatusCode != 200 || !strings.Contains(body, line) || !strings.Contains(body, `data-storage="http://127.0.0.1:1"`) && !strings.Contains(body, "No photos yet") {
			t.Errorf("/photos with the storage down: %d %s", resp.StatusCode, body)
		}
		if limit := []time.Duration{3 * time.Second, 500 * time.Millisecond}[i]; took > limit {
			t.Errorf("look %d took %v, want under %v", i+1, took, limit)
		}
	}
	gf := newGalleryOf(t)
	if _, body := galleryGet(t, gf.api, "/photos", gf.session()); strings.Contains(body, "storage-down") {
		t.Error("a storage that answers is said not to")
	}
}

// The migration gives rows stored without a capture time the instant of
// their file's time, to the nanosecond, as rows written since get it; a
// text that is not RFC 3339 keeps 0 and fails nothing.
func TestGalleryStore_MTimeBackfill(t *testing.T) {
	mtimes := []string{"2023-06-30T23:30:00.123456789-02:00", "2024-05-01T10:00:00Z", "2024-02-29T12:00:00.5+05:30",
		"1969-07-20T20:17:00.000000001Z", "2024-05-01T10:00:00.1234567891Z", "yesterday", "2023-02-30T00:00:00Z",
		"2024-13-01T00:00:00Z", "2024-05-01T10:00:00", "2024-05-01T24:00:00Z", "2024-05-01T10:00:60Z", "2024-05-01 10:00:00Z",
		"2024-05-01T10:00:00.Z", "2024-05-01T10:00:00x+01:00", "", "1600-01-01T00:00:00Z", "2300-01-01T00:00:00.5Z", "2024-05-01T10:00:00+1:00"}
	const id = "1000000007"
	var objs []StoredObject
	for i, m := range mtimes {
		objs = append(objs, StoredObject{AccountID: id, Key: fmt.Sprintf("%s/phone/f%02d.pdf", id, i), Size: 1, ETag: "e", MTime: m})
	}
	objs = append(objs, StoredObject{AccountID: id, Key: id + "/phone/taken.jpg", Size: 1, ETag: "e", MTime: mtimes[0],
		Capture: "2020-01-01T00:00:00+01:00"})
	check := func(t *testing.T, read func(key string) int64) {
		for _, o := range objs {
			if got, want := read(o.Key), orderNanos(o.Capture, o.MTime); got != want {
				t.Errorf("%s (mtime %q): capture_ns %d, want %d", o.Key, o.MTime, got, want)
			}
		}
	}
	ctx := context.Background()

	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "accounts.db")
		s, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PutObjects(ctx, id, objs, nil); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`UPDATE objects SET capture_ns = 0 WHERE capture = ''`,
			fmt.Sprintf("PRAGMA user_version = %d", len(sqliteSchema)-1)} {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		if s, err = OpenSQLite(ctx, path); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, func(key string) int64 {
			var ns int64
			if err := s.db.QueryRowContext(ctx, `SELECT capture_ns FROM objects WHERE key = ?`, key).Scan(&ns); err != nil {
				t.Fatal(err)
			}
			return ns
		})
	})

	t.Run("postgres", func(t *testing.T) {
		url := pgtest.DB(t)
		s, err := OpenPostgres(ctx, url, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PutObjects(ctx, id, objs, nil); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`UPDATE objects SET capture_ns = 0 WHERE capture = ''`,
			fmt.Sprintf("UPDATE schema_version SET version = %d", len(postgresMigrations)-1)} {
			if _, err := s.pool.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		if s, err = OpenPostgres(ctx, url, ""); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, func(key string) int64 {
			var ns int64
			if err := s.pool.QueryRow(ctx, `SELECT capture_ns FROM objects WHERE key = $1`, key).Scan(&ns); err != nil {
				t.Fatal(err)
			}
			return ns
		})
	})
}
