package account

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/mediatest"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// downloadEnv is an account service with a gate on MinIO, an account
// signed in with a browser's cookies, and the files it stored.
type downloadEnv struct {
	*gateEnv
	d             device
	session, csrf string
	files         map[string][]byte // by relative key
	minio         *miniotest.Server
}

func newDownloadEnv(t testing.TB) *downloadEnv {
	t.Helper()
	m := miniotest.Start(t)
	ge := newGateEnv(t, s3Server{name: "minio", endpoint: m.Endpoint, bucket: m.Bucket, accessKey: m.AccessKey,
		secretKey: m.SecretKey, admin: m.Client}, 30*time.Second, 0)
	d := ge.connectDevice("", "laptop")
	session, err := ge.svc.NewSession(context.Background(), d.account)
	if err != nil {
		t.Fatal(err)
	}
	return &downloadEnv{gateEnv: ge, d: d, session: session, csrf: randomToken(24), files: map[string][]byte{}, minio: m}
}

// mtimeOf is the modification time every file is stored with.
var mtimeOf = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// put stores body at the device's relative key rel through the gate, with
// the metadata an agent sends: taken at capture (RFC 3339, "" unknown),
// in group ("" none).
func (de *downloadEnv) put(d device, rel string, body []byte, capture, group string) {
	de.t.Helper()
	de.putMeta(d, rel, body, agentMeta(body, capture, group))
}

// agentMeta is the metadata an agent sends with body: modified at
// mtimeOf, taken at capture (RFC 3339, "" unknown), in group ("" none).
func agentMeta(body []byte, capture, group string) *wire.Meta {
	sum := sha256.Sum256(body)
	m := &wire.Meta{SHA256: hex.EncodeToString(sum[:]), MTime: mtimeOf.Format(time.RFC3339Nano), Device: "laptop",
		ContentType: "application/octet-stream", CaptureTime: capture, Group: group}
	if capture != "" {
		m.CaptureSource = wire.CaptureEXIF
	}
	return m
}

// putMeta stores body at the device's relative key rel through the gate,
// with the metadata m.
func (de *downloadEnv) putMeta(d device, rel string, body []byte, m *wire.Meta) {
	de.t.Helper()
	de.storeWithMeta(d, d.account+"/"+rel, body, m)
	if d.account == de.d.account {
		de.files[rel] = body
	}
}

// request sends a request to the handler serving the gate, with the
// session's cookies when signedIn, and does not follow redirects.
func (de *downloadEnv) request(method, target string, form url.Values, signedIn bool) *http.Response {
	de.t.Helper()
	var body io.Reader
	if form != nil {
		form.Set("csrf", keyedHash(de.svc.secret, "csrf", de.csrf))
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, de.api+target, body)
	if err != nil {
		de.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(&http.Cookie{Name: csrfCookie, Value: de.csrf})
	if signedIn {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: de.session})
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		de.t.Fatal(err)
	}
	de.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// viaGate is a link the service made, which starts with its issuer, sent
// to the handler that serves the gate instead: the test service's issuer
// address serves one without storage.
func (de *downloadEnv) viaGate(link string) string {
	de.t.Helper()
	rest, ok := strings.CutPrefix(link, de.url+"/photos/link/")
	if !ok {
		de.t.Fatalf("link %q does not start with the issuer %s", link, de.url)
	}
	return de.api + "/photos/link/" + rest
}

// readZip reads a ZIP answer whole, checks its headers and returns its
// files' bytes by name; every file is dated mtimeOf.
func readZip(t *testing.T, resp *http.Response, filename string) map[string][]byte {
	t.Helper()
	return readZipDated(t, resp, filename, func(name string, modified time.Time) {
		if !modified.Equal(mtimeOf) {
			t.Errorf("%s: modified %v, want %v", name, modified, mtimeOf)
		}
	})
}

// readZipDated is readZip that gives each file's date to checkDate.
func readZipDated(t *testing.T, resp *http.Response, filename string, checkDate func(name string, modified time.Time)) map[string][]byte {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	hd := resp.Header
	if got, want := hd.Get("Content-Disposition"), `attachment; filename="`+filename+`"`; got != want {
		t.Errorf("Content-Disposition %q, want %q", got, want)
	}
	if hd.Get("Content-Type") != "application/zip" || hd.Get("Cache-Control") != "private, no-store" {
		t.Errorf("Content-Type %q, Cache-Control %q", hd.Get("Content-Type"), hd.Get("Cache-Control"))
	}
	if got := hd.Get("Content-Length"); got != strconv.Itoa(len(body)) {
		t.Errorf("Content-Length %s, body %d bytes", got, len(body))
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		checkDate(f.Name, f.Modified)
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc) // checks the CRC-32
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		out[f.Name] = b
	}
	return out
}

// checkFiles checks that got holds exactly the stored files named want.
func (de *downloadEnv) checkFiles(t *testing.T, got map[string][]byte, want ...string) {
	t.Helper()
	if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, slices.Sorted(slices.Values(want))) {
		t.Fatalf("got files %q, want %q", names, slices.Sorted(slices.Values(want)))
	}
	for name, b := range got {
		if !bytes.Equal(b, de.files[name]) {
			t.Errorf("%s: got %d bytes that differ from the %d stored", name, len(b), len(de.files[name]))
		}
	}
}

// noise is n random bytes.
func noise(t testing.TB, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// The gallery's downloads, on one account with a day of a Live Photo (a
// HEIC, its MOV and its edits), a JPEG with its RAW in a folder with an
// accent, a photo taken just after midnight on the next day where it was
// taken, a thumbnail, and a trip of three photos; another account stored
// a photo on the same day.
func TestGalleryDownload(t *testing.T) {
	de := newDownloadEnv(t)
	other := de.connectDevice("", "laptop")
	heic := mediatest.HEIC(t, mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00"})
	de.put(de.d, "laptop/Pictures/2024/IMG_0001.HEIC", heic, "2024-01-31T14:05:00+09:00", "00000000000000a1")
	de.put(de.d, "laptop/Pictures/2024/IMG_0001.MOV", mediatest.MOV(t, mediatest.MOVMeta{}), "2024-01-31T14:05:00.25+09:00", "00000000000000a1")
	de.put(de.d, "laptop/Pictures/2024/IMG_0001.AAE", []byte("<plist>edits</plist>"), "", "00000000000000a1")
	jpeg := mediatest.JPEG(t, 64, 48, mediatest.EXIF{DateTimeOriginal: "2024:01:31 23:30:00", OffsetTimeOriginal: "+09:00"})
	de.put(de.d, "laptop/Pictures/2024/été/IMG_0002.JPG", jpeg, "2024-01-31T23:30:00+09:00", "00000000000000a2")
	de.put(de.d, "laptop/Pictures/2024/été/IMG_0002.DNG", mediatest.DNG(t, mediatest.EXIF{}, 32, 24), "2024-01-31T23:30:00+09:00", "00000000000000a2")
	de.put(de.d, "laptop/Pictures/2024/IMG_0003.JPG", noise(t, 5000), "2024-02-01T00:30:00+09:00", "00000000000000a3")
	de.put(de.d, ".thumbs/"+strings.Repeat("ab", 32)+".jpg", noise(t, 300), "2024-01-31T14:05:00+09:00", "00000000000000a1")
	for i, name := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		de.put(de.d, "laptop/Trip/"+name, noise(t, 300<<10), "2023-07-14T1"+strconv.Itoa(i)+":00:00+02:00", "")
	}
	de.put(other, "laptop/Pictures/2024/IMG_9999.JPG", noise(t, 100), "2024-01-31T12:00:00+09:00", "")
	day := []string{"laptop/Pictures/2024/IMG_0001.HEIC", "laptop/Pictures/2024/IMG_0001.MOV", "laptop/Pictures/2024/IMG_0001.AAE",
		"laptop/Pictures/2024/été/IMG_0002.JPG", "laptop/Pictures/2024/été/IMG_0002.DNG"}
	prefix := "cloudkeep-" + de.d.account + "-"

	t.Run("Zip of a day", func(t *testing.T) {
		resp := de.request("GET", "/photos/download?day=2024-01-31", nil, true)
		got := readZip(t, resp, prefix+"2024-01-31.zip")
		de.checkFiles(t, got, day...)
		head := de.request("HEAD", "/photos/download?day=2024-01-31", nil, true)
		if head.StatusCode != 200 || head.ContentLength != resp.ContentLength {
			t.Errorf("HEAD: got %d, %d bytes, want 200, %d", head.StatusCode, head.ContentLength, resp.ContentLength)
		}
	})
	t.Run("Zip of a month", func(t *testing.T) {
		got := readZip(t, de.request("GET", "/photos/download?year=2024&month=2&format=zip", nil, true), prefix+"2024-02.zip")
		de.checkFiles(t, got, "laptop/Pictures/2024/IMG_0003.JPG")
	})
	t.Run("Zip of everything", func(t *testing.T) {
		got := readZip(t, de.request("GET", "/photos/download", nil, true), prefix+"all.zip")
		de.checkFiles(t, got, append(slices.Clone(day), "laptop/Pictures/2024/IMG_0003.JPG",
			"laptop/Trip/a.jpg", "laptop/Trip/b.jpg", "laptop/Trip/c.jpg")...)
	})
	t.Run("Zip of a selection", func(t *testing.T) {
		form := url.Values{"key": {"laptop/Pictures/2024/été/IMG_0002.JPG", "laptop/Trip/b.jpg", "laptop/Trip/b.jpg",
			other.account + "/laptop/Pictures/2024/IMG_9999.JPG", "laptop/Pictures/2024/IMG_9999.JPG",
			"../" + other.account + "/laptop/Pictures/2024/IMG_9999.JPG", ".thumbs/" + strings.Repeat("ab", 32) + ".jpg"}}
		got := readZip(t, de.request("POST", "/photos/download", form, true), prefix+"selection.zip")
		de.checkFiles(t, got, "laptop/Pictures/2024/été/IMG_0002.JPG", "laptop/Pictures/2024/été/IMG_0002.DNG", "laptop/Trip/b.jpg")
	})
	t.Run("Download of nothing", func(t *testing.T) {
		form := url.Values{"key": {other.account + "/laptop/Pictures/2024/IMG_9999.JPG", "laptop/Pictures/2024/IMG_9999.JPG"}}
		for _, resp := range []*http.Response{de.request("POST", "/photos/download", form, true),
			de.request("GET", "/photos/download?day=2020-01-01", nil, true)} {
			if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 404 || !strings.Contains(string(b), "No such photo.") {
				t.Errorf("got %d %.200s, want 404 No such photo.", resp.StatusCode, b)
			}
		}
	})
	t.Run("Download signed out", func(t *testing.T) {
		for _, resp := range []*http.Response{de.request("GET", "/photos/download?day=2024-01-31", nil, false),
			de.request("POST", "/photos/download", url.Values{"key": {day[0]}}, false)} {
			if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || !strings.HasPrefix(loc, "/signin?next=%2Fphotos%2Fdownload") {
				t.Errorf("%s: got %d to %q, want 303 to sign in", resp.Request.Method, resp.StatusCode, loc)
			}
		}
	})
	t.Run("Download without storage", func(t *testing.T) {
		req, _ := http.NewRequest("GET", de.url+"/photos/download", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: de.session})
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("got %d, want 404", resp.StatusCode)
		}
	})
	t.Run("Link list", func(t *testing.T) { testLinkList(t, de, other, day) })
	t.Run("Zip of a file replaced", func(t *testing.T) { testZipReplaced(t, de) })
}

// testLinkList fetches the lines of a day's link list without a cookie,
// then tampered with, for another account's key, and expired.
func testLinkList(t *testing.T, de *downloadEnv, other device, day []string) {
	resp := de.request("GET", "/photos/download?day=2024-01-31&format=txt", nil, true)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="cloudkeep-`+de.d.account+`-2024-01-31.txt"` {
		t.Fatalf("got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines) != len(day) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(day), body)
	}
	if !strings.Contains(string(body), "/%C3%A9t%C3%A9/IMG_0002.JPG\n") {
		t.Errorf("the folder été is not escaped in\n%s", body)
	}
	var got []string
	for _, line := range lines {
		link := de.viaGate(line)
		first, err := noRedirects.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		first.Body.Close()
		if first.StatusCode != 302 || first.Header.Get("Cache-Control") != "private, max-age=60" {
			t.Fatalf("%s: got %d, Cache-Control %q", line, first.StatusCode, first.Header.Get("Cache-Control"))
		}
		file, err := http.Get(link) // a plain client, no cookie
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(file.Body)
		file.Body.Close()
		rel, _ := url.PathUnescape(line[strings.Index(line, "/laptop/")+1:])
		if err != nil || file.StatusCode != 200 || !bytes.Equal(b, de.files[rel]) {
			t.Errorf("%s: got %d, %d bytes (%v), want the %d stored", rel, file.StatusCode, len(b), err, len(de.files[rel]))
		}
		name := rel[strings.LastIndex(rel, "/")+1:]
		if cd := file.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, name) {
			t.Errorf("%s: Content-Disposition %q", rel, cd)
		}
		got = append(got, rel)
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(day))) {
		t.Errorf("links to %q, want %q", got, day)
	}

	token := strings.Split(strings.TrimPrefix(lines[0], de.url+"/photos/link/"), "/")[0]
	refused := func(what, link string, status int, text string) {
		t.Helper()
		resp, err := noRedirects.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != status || !strings.Contains(string(b), text) {
			t.Errorf("%s: got %d %.200s, want %d %q", what, resp.StatusCode, b, status, text)
		}
	}
	flip := byte('0')
	if token[len(token)-1] == '0' {
		flip = '1'
	}
	tampered := token[:len(token)-1] + string(flip)
	refused("tampered token", de.api+"/photos/link/"+tampered+"/"+day[0], 403, linkExpired)
	rel0, _ := url.PathUnescape(lines[0][strings.Index(lines[0], "/laptop/")+1:])
	for _, rel := range append(slices.DeleteFunc(slices.Clone(day), func(k string) bool { return k == rel0 }),
		"laptop/Trip/a.jpg", "laptop/Pictures/2024/IMG_9999.JPG") {
		refused("the token of "+rel0+" for "+rel, de.api+"/photos/link/"+token+"/"+rel, 403, linkExpired)
	}
	// Tokens signed right, for keys the session's account may not see.
	refused("another account's key", de.api+"/photos/link/"+de.mintLink("laptop/Pictures/2024/IMG_9999.JPG")+
		"/laptop/Pictures/2024/IMG_9999.JPG", 404, "No such photo.")
	refused("another account's full key", de.api+"/photos/link/"+de.mintLink(other.account+"/laptop/Pictures/2024/IMG_9999.JPG")+
		"/"+other.account+"/laptop/Pictures/2024/IMG_9999.JPG", 404, "No such photo.")
	thumb := ".thumbs/" + strings.Repeat("ab", 32) + ".jpg"
	refused("a hidden key", de.api+"/photos/link/"+de.mintLink(thumb)+"/"+thumb, 404, "No such photo.")
	de.clock.advance(linkTTL)
	defer de.clock.advance(-linkTTL)
	refused("expired", de.viaGate(lines[0]), 403, linkExpired)
}

// testZipReplaced replaces a file in the bucket behind the index's back:
// a ZIP that has started fails the transfer rather than end short, one
// that has not answers an error page naming the file; the index then
// knows the new version, and the next try sends it.
func testZipReplaced(t *testing.T, de *downloadEnv) {
	// Newest first: c.jpg is the first file of the day's ZIP, a.jpg the last.
	de.replace("laptop/Trip/a.jpg", noise(t, 300<<10), "2023-07-14T10:00:00+02:00")
	resp := de.request("GET", "/photos/download?day=2023-07-14", nil, true)
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || err == nil || int64(len(body)) >= resp.ContentLength {
		t.Fatalf("got %d, %d of %d bytes, %v: want a failed transfer", resp.StatusCode, len(body), resp.ContentLength, err)
	}
	if len(body) < 600<<10 {
		t.Errorf("got %d bytes, want at least the two files before a.jpg", len(body))
	}
	if logs := de.logs.String(); !strings.Contains(logs, "zip download failed") || !strings.Contains(logs, "laptop/Trip/a.jpg") {
		t.Errorf("no log of the failed download naming a.jpg in\n%s", logs)
	}

	trip := []string{"laptop/Trip/a.jpg", "laptop/Trip/b.jpg", "laptop/Trip/c.jpg"}
	got := readZip(t, de.request("GET", "/photos/download?day=2023-07-14", nil, true), "cloudkeep-"+de.d.account+"-2023-07-14.zip")
	de.checkFiles(t, got, trip...)

	de.replace("laptop/Trip/c.jpg", noise(t, 100), "2023-07-14T12:00:00+02:00")
	resp = de.request("GET", "/photos/download?day=2023-07-14", nil, true)
	body, err = io.ReadAll(resp.Body)
	want := "laptop/Trip/c.jpg changed in the storage since this page was made: try again — the list is up to date now."
	if err != nil || resp.StatusCode != 409 || resp.Header.Get("Content-Disposition") != "" || !strings.Contains(html.UnescapeString(string(body)), want) {
		t.Errorf("first file replaced: got %d %q, %v, %.300s", resp.StatusCode, resp.Header.Get("Content-Disposition"), err, body)
	}
	got = readZip(t, de.request("GET", "/photos/download?day=2023-07-14", nil, true), "cloudkeep-"+de.d.account+"-2023-07-14.zip")
	de.checkFiles(t, got, trip...)
}

// A browser that stops reading a ZIP (a laptop closed midway) is cut off
// after downloadStall, which frees the connection to the storage.
func TestGalleryDownload_StalledBrowser(t *testing.T) {
	stall := downloadStall
	downloadStall = 300 * time.Millisecond // set before the handler runs; put back once it is closed
	t.Cleanup(func() { downloadStall = stall })
	de := newDownloadEnv(t)
	for i := range 3 {
		de.put(de.d, "laptop/Videos/clip"+strconv.Itoa(i)+".mov", noise(t, 4<<20), "2024-03-01T10:00:00Z", "")
	}
	// A small receive buffer, which the kernel then does not grow, so that
	// the service's writes block soon.
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10) })
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	req, _ := http.NewRequest("GET", de.api+"/photos/download", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: de.session})
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(de.logs.String(), "zip download failed"); {
		if time.Now().After(deadline) {
			t.Fatal("the download is still waiting for the browser after 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if logs := de.logs.String(); !strings.Contains(logs, "i/o timeout") {
		t.Errorf("the failed download's log does not say it timed out:\n%s", logs)
	}
	if b, err := io.ReadAll(resp.Body); err == nil || int64(len(b)) >= resp.ContentLength {
		t.Errorf("got %d of %d bytes, %v: want a failed transfer", len(b), resp.ContentLength, err)
	}
}
