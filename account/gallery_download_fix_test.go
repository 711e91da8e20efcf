package account

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// mintLink is a link token signed right for the session's sign-in and
// the relative key rel, whatever rel is.
func (de *downloadEnv) mintLink(rel string) string {
	ref := keyedHash(de.svc.secret, "session", de.session)
	exp := strconv.FormatInt(de.svc.now().Add(time.Hour).Unix(), 10)
	return ref + "." + exp + "." + keyedHash(de.svc.secret, "gallery-link", ref, exp, rel)[:32]
}

// replace stores body at the account's relative key rel with the root
// keys, around the gate, with the metadata an agent would send.
func (de *downloadEnv) replace(rel string, body []byte, capture string) {
	de.t.Helper()
	m := agentMeta(body, capture, "")
	opts := minio.PutObjectOptions{UserMetadata: userMeta(m), ContentType: m.ContentType}
	if _, err := de.s3.admin.PutObject(context.Background(), de.s3.bucket, de.d.account+"/"+rel, bytes.NewReader(body), int64(len(body)), opts); err != nil {
		de.t.Fatal(err)
	}
	de.files[rel] = body
}

// page reads resp whole and checks its status and that its page says text.
func checkPage(t *testing.T, what string, resp *http.Response, status int, text string) {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != status || !strings.Contains(html.UnescapeString(string(b)), text) {
		t.Errorf("%s: got %d %.300s (%v), want %d %q", what, resp.StatusCode, b, err, status, text)
	}
}

// get fetches a link made by the service, without a cookie, following
// its redirect to the storage.
func (de *downloadEnv) get(link string) *http.Response {
	de.t.Helper()
	resp, err := http.Get(de.viaGate(link))
	if err != nil {
		de.t.Fatal(err)
	}
	de.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// A link list's lines open their own files while the sign-in they were
// made in lasts, and no longer once it signs out.
func TestGalleryDownload_LinkSignOut(t *testing.T) {
	de := newDownloadEnv(t)
	de.put(de.d, "laptop/Pictures/a.jpg", noise(t, 1000), "2024-01-31T10:00:00+01:00", "")
	de.put(de.d, "laptop/Pictures/b.jpg", noise(t, 2000), "2024-01-31T11:00:00+01:00", "")
	resp := de.request("GET", "/photos/download?day=2024-01-31&format=txt", nil, true)
	body, _ := io.ReadAll(resp.Body)
	lines := strings.Fields(string(body))
	if resp.StatusCode != 200 || len(lines) != 2 {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	for _, line := range lines {
		rel, _ := url.PathUnescape(line[strings.Index(line, "/laptop/")+1:])
		file := de.get(line)
		if b, err := io.ReadAll(file.Body); err != nil || file.StatusCode != 200 || !bytes.Equal(b, de.files[rel]) {
			t.Errorf("%s: got %d, %d bytes (%v), want the %d stored", rel, file.StatusCode, len(b), err, len(de.files[rel]))
		}
	}
	if out := de.request("POST", "/signout", url.Values{}, true); out.StatusCode != 303 {
		t.Fatalf("sign-out: got %d", out.StatusCode)
	}
	for _, line := range lines {
		checkPage(t, "after sign-out", de.get(line), 403, "This link expired: make a new list in the gallery.")
	}
}

// A ZIP of a file deleted or replaced in the bucket behind the index's
// back fails once, naming the file, and the index then knows: the next
// ZIP leaves the deleted file out and holds the replaced one's new bytes.
func TestGalleryDownload_ZipObjectGone(t *testing.T) {
	de := newDownloadEnv(t)
	for i, name := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		de.put(de.d, "laptop/Trip/"+name, noise(t, 10<<10), "2023-07-14T1"+strconv.Itoa(i)+":00:00+02:00", "")
	}
	filename := "cloudkeep-" + de.d.account + "-2023-07-14.zip"
	zipOf := func() *http.Response { return de.request("GET", "/photos/download?day=2023-07-14", nil, true) }

	// Newest first: c.jpg is the first file of the ZIP.
	if err := de.s3.admin.RemoveObject(context.Background(), de.s3.bucket, de.d.account+"/laptop/Trip/c.jpg", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	checkPage(t, "deleted", zipOf(), 409,
		"laptop/Trip/c.jpg changed in the storage since this page was made: try again — the list is up to date now.")
	delete(de.files, "laptop/Trip/c.jpg")
	de.checkFiles(t, readZip(t, zipOf(), filename), "laptop/Trip/a.jpg", "laptop/Trip/b.jpg")
	rows, err := de.gate.store.LookupObjects(context.Background(), de.d.account, []string{de.d.account + "/laptop/Trip/c.jpg"})
	if err != nil || len(rows) != 0 {
		t.Errorf("index rows of the deleted file: %+v, %v; want none", rows, err)
	}
	if u, err := de.gate.Usage(context.Background(), de.d.account); err != nil || u.Objects != 2 || u.Used != 20<<10 {
		t.Errorf("usage: %+v, %v; want 2 objects of 20 KiB", u, err)
	}

	de.replace("laptop/Trip/b.jpg", noise(t, 3000), "2023-07-14T11:00:00+02:00")
	checkPage(t, "replaced", zipOf(), 409, "laptop/Trip/b.jpg changed in the storage")
	de.checkFiles(t, readZip(t, zipOf(), filename), "laptop/Trip/a.jpg", "laptop/Trip/b.jpg")
}

// A storage that does not answer is named as such.
func TestGalleryDownload_ZipStorageDown(t *testing.T) {
	de := newDownloadEnv(t)
	de.put(de.d, "laptop/Trip/a.jpg", noise(t, 1000), "2023-07-14T10:00:00+02:00", "")
	de.minio.Kill()
	t.Cleanup(func() { de.minio.Restart(t) })
	checkPage(t, "storage stopped", de.request("GET", "/photos/download", nil, true), 503,
		"The storage is not answering: try again later.")
}

// ZIP entries and saved file names are the plain paths the keys stand for
// ('%' is escaped in keys), unless not UTF-8 (bytes in another encoding,
// escaped in keys too), which stay keys; link URLs keep the keys.
func TestGalleryDownload_PlainNames(t *testing.T) {
	de := newDownloadEnv(t)
	de.put(de.d, "laptop/Sale/50%25 off.png", noise(t, 500), "2024-03-01T10:00:00Z", "")
	de.put(de.d, "laptop/Sale/caf%E9.jpg", noise(t, 600), "2024-03-01T11:00:00Z", "")
	got := readZip(t, de.request("GET", "/photos/download?day=2024-03-01", nil, true), "cloudkeep-"+de.d.account+"-2024-03-01.zip")
	want := map[string]string{"laptop/Sale/50% off.png": "laptop/Sale/50%25 off.png", "laptop/Sale/caf%E9.jpg": "laptop/Sale/caf%E9.jpg"}
	if len(got) != len(want) {
		t.Errorf("got files %q, want %d", keysOf(got), len(want))
	}
	for name, rel := range want {
		if !bytes.Equal(got[name], de.files[rel]) {
			t.Errorf("%q: got %d bytes, want the %d stored at %q (files %q)", name, len(got[name]), len(de.files[rel]), rel, keysOf(got))
		}
	}

	resp := de.request("GET", "/photos/download?day=2024-03-01&format=txt", nil, true)
	body, _ := io.ReadAll(resp.Body)
	for _, c := range []struct{ path, ascii, exact string }{
		{"/laptop/Sale/50%2525%20off.png", `filename="50% off.png"`, "filename*=UTF-8''50%25%20off.png"},
		{"/laptop/Sale/caf%25E9.jpg", `filename="caf%E9.jpg"`, "filename*=UTF-8''caf%25E9.jpg"},
	} {
		var line string
		for l := range strings.Lines(string(body)) {
			if strings.HasSuffix(l, c.path+"\n") {
				line = strings.TrimSpace(l)
			}
		}
		if line == "" {
			t.Errorf("no line ends with %s in\n%s", c.path, body)
			continue
		}
		first, err := noRedirects.Get(de.viaGate(line))
		if err != nil {
			t.Fatal(err)
		}
		first.Body.Close()
		loc, _ := url.Parse(first.Header.Get("Location"))
		cd := loc.Query().Get("response-content-disposition")
		if first.StatusCode != 302 || cd != "attachment; "+c.ascii+"; "+c.exact {
			t.Errorf("%s: got %d, Content-Disposition %q, want attachment; %s; %s", c.path, first.StatusCode, cd, c.ascii, c.exact)
		}
		if file := de.get(line); file.StatusCode != 200 || file.Header.Get("Content-Disposition") != cd {
			t.Errorf("%s: the storage answered %d with Content-Disposition %q", c.path, file.StatusCode, file.Header.Get("Content-Disposition"))
		}
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Go reads at most 10,000 values of a form: a selection that fits is
// sent, one that does not is told so rather than that the form expired.
func TestGalleryDownload_ManyKeys(t *testing.T) {
	de := newDownloadEnv(t)
	de.put(de.d, "laptop/Pictures/a.jpg", noise(t, 1000), "2024-01-31T10:00:00+01:00", "")
	chosen := func(n int) url.Values {
		keys := []string{"laptop/Pictures/a.jpg"}
		for i := range n - 1 {
			keys = append(keys, fmt.Sprintf("laptop/Pictures/2024/Holidays in the mountains/IMG_%05d.JPG", i))
		}
		return url.Values{"key": keys}
	}
	got := readZip(t, de.request("POST", "/photos/download", chosen(9990), true), "cloudkeep-"+de.d.account+"-selection.zip")
	de.checkFiles(t, got, "laptop/Pictures/a.jpg")
	checkPage(t, "10,000 keys", de.request("POST", "/photos/download", chosen(10000), true), 413,
		"Too many photos chosen at once: choose fewer, or download a day, a month or all shown.")
}

// A filter given but not valid is refused, rather than dropped (which
// downloaded the whole account), and an empty selection is told so.
func TestGalleryDownload_BadInput(t *testing.T) {
	de := newDownloadEnv(t)
	de.put(de.d, "laptop/Pictures/a.jpg", noise(t, 1000), "2024-01-31T10:00:00+01:00", "")
	for q, want := range map[string]string{
		"day=garbage":         "day=garbage is not a date (YYYY-MM-DD).",
		"day=2024-02-30":      "day=2024-02-30 is not a date (YYYY-MM-DD).",
		"year=2024&month=13":  "month=13 is not a month (1 to 12).",
		"year=abc":            "year=abc is not a year (YYYY).",
		"month=1":             "month=1 needs a year (YYYY).",
		"kind=pdf&format=txt": "kind=pdf is not photo or video.",
	} {
		checkPage(t, q, de.request("GET", "/photos/download?"+q, nil, true), 400, want)
	}
	got := readZip(t, de.request("GET", "/photos/download?year=2024&month=1&day=&kind=", nil, true), "cloudkeep-"+de.d.account+"-2024-01.zip")
	de.checkFiles(t, got, "laptop/Pictures/a.jpg")
	checkPage(t, "no key", de.request("POST", "/photos/download", url.Values{"format": {"zip"}}, true), 400,
		"Tick the photos to download first.")
}

// A ZIP entry is dated by the file's modification time, else when it was
// taken, else when it is downloaded.
func TestGalleryDownload_ZipDates(t *testing.T) {
	de := newDownloadEnv(t)
	for rel, capture := range map[string]string{"laptop/Pictures/taken.jpg": "2024-01-31T10:00:00+01:00", "laptop/Pictures/unknown.jpg": ""} {
		body := noise(t, 100)
		m := agentMeta(body, capture, "")
		m.MTime = ""
		de.putMeta(de.d, rel, body, m)
	}
	before := de.svc.now().Truncate(time.Second)
	resp := de.request("GET", "/photos/download", nil, true)
	after := de.svc.now()
	got := readZipDated(t, resp, "cloudkeep-"+de.d.account+"-all.zip", func(name string, modified time.Time) {
		if name == "laptop/Pictures/taken.jpg" {
			if want := time.Date(2024, 1, 31, 9, 0, 0, 0, time.UTC); !modified.Equal(want) {
				t.Errorf("%s: modified %v, want when it was taken, %v", name, modified, want)
			}
		} else if modified.Before(before) || modified.After(after) {
			t.Errorf("%s: modified %v, want the time of the download, %v to %v", name, modified, before, after)
		}
	})
	if len(got) != 2 {
		t.Errorf("got files %q, want 2", keysOf(got))
	}
}

// Two different files whose saved names meet (a name in Latin-1 and one
// with a literal "%E9") are both in the ZIP, and a backslash, a
// separator to Windows' extractors, never reaches an entry's name.
func TestGalleryDownload_ZipNamesMeet(t *testing.T) {
	de := newDownloadEnv(t)
	de.put(de.d, "laptop/P/caf%E9.jpg", noise(t, 600), "2024-03-01T11:00:00Z", "")
	de.put(de.d, "laptop/P/caf%25E9.jpg", noise(t, 700), "2024-03-01T12:00:00Z", "")
	de.put(de.d, `laptop/W/a\b\evil.jpg`, noise(t, 800), "2024-03-01T13:00:00Z", "")
	got := readZip(t, de.request("GET", "/photos/download?day=2024-03-01", nil, true), "cloudkeep-"+de.d.account+"-2024-03-01.zip")
	want := map[string]string{
		"laptop/P/caf%E9.jpg":     "laptop/P/caf%25E9.jpg", // newest first: its own plain name
		"laptop/P/caf%E9 (2).jpg": "laptop/P/caf%E9.jpg",   // the Latin-1 name, shown by its key
		"laptop/W/a_b_evil.jpg":   `laptop/W/a\b\evil.jpg`,
	}
	if len(got) != len(want) {
		t.Errorf("got files %q, want %d", keysOf(got), len(want))
	}
	for name, rel := range want {
		if !bytes.Equal(got[name], de.files[rel]) {
			t.Errorf("%q: got %d bytes, want the %d stored at %q (files %q)", name, len(got[name]), len(de.files[rel]), rel, keysOf(got))
		}
	}
}

// A format that is neither zip nor txt is refused, and a huge value is
// neither echoed back whole nor read as no filter.
func TestGalleryDownload_OddValues(t *testing.T) {
	de := newDownloadEnv(t)
	de.put(de.d, "laptop/Pictures/a.jpg", noise(t, 1000), "2024-01-31T10:00:00+01:00", "")
	checkPage(t, "format=rar", de.request("GET", "/photos/download?format=rar", nil, true), 400, "format=rar is not zip or txt.")
	long := strings.Repeat("x", 1<<20)
	resp := de.request("GET", "/photos/download?device="+long, nil, true)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || len(b) > 64<<10 {
		t.Errorf("a 1 MiB device: %d with %d bytes, want 404 and a short page", resp.StatusCode, len(b))
	}
	resp = de.request("GET", "/photos/download?day="+long, nil, true)
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || len(b) > 64<<10 {
		t.Errorf("a 1 MiB day: %d with %d bytes, want 400 and a short page", resp.StatusCode, len(b))
	}
}
