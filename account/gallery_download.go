package account

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/zipstream"
)

const (
	// downloadBatch is how many rows a download reads from the index in
	// one query.
	downloadBatch = 1000
	// linkTTL bounds how long the lines of a link list work without a
	// cookie: no longer than the sign-in they were made in, which they
	// also end with (sign-out).
	linkTTL = sessionTTL
	// maxDownloadForm bounds the body of a POST /photos/download. Go reads
	// at most 10,000 values of a form, so a selection holds at most 9,998
	// keys (with csrf and format): 8 MiB lets each be 800 bytes escaped.
	maxDownloadForm = 8 << 20
)

// downloadStall is how long a ZIP download waits for the browser to take
// the next bytes before it gives up.
var downloadStall = 2 * time.Minute

// linkExpired is the answer to a link-list line whose token is not valid
// or no longer.
const linkExpired = "This link expired: make a new list in the gallery."

// routesGalleryDownloads serves the ZIP and link-list downloads.
func (h *handler) routesGalleryDownloads(mux *http.ServeMux) {
	mux.HandleFunc("GET /photos/download", h.getDownload)
	mux.HandleFunc("POST /photos/download", h.postDownload)
	mux.HandleFunc("GET /photos/link/{token}/{key...}", h.getLink)
}

// getDownload sends everything the gallery's filters select (the whole
// account without any), with the items' group members.
func (h *handler) getDownload(w http.ResponseWriter, r *http.Request) {
	account := h.galleryAccount(w, r)
	if account == "" {
		return
	}
	f, msg := strictFilter(r)
	if msg != "" {
		h.badDownload(w, r, msg)
		return
	}
	rows, err := h.filteredRows(r.Context(), account, f)
	if err != nil {
		h.galleryFailed(w, r, err)
		return
	}
	h.sendDownload(w, r, account, cmp.Or(f.Day, f.Month, "all"), rows)
}

// postDownload sends the chosen items (form: key=<rel> repeated) with
// their group members. Keys the account may not see are left out.
func (h *handler) postDownload(w http.ResponseWriter, r *http.Request) {
	account := h.galleryAccount(w, r)
	if account == "" {
		return
	}
	if len(r.PostForm["key"]) == 0 {
		h.badDownload(w, r, nothingChosen)
		return
	}
	rows, err := h.chosenRows(r.Context(), account, r.PostForm["key"])
	if err != nil {
		h.galleryFailed(w, r, err)
		return
	}
	h.sendDownload(w, r, account, "selection", rows)
}

// badDownload answers a download asked for wrongly with why (400).
func (h *handler) badDownload(w http.ResponseWriter, r *http.Request, msg string) {
	h.renderGallery(w, r, http.StatusBadRequest, "photos.html", galleryView{page: page{Title: "Photos", Error: msg}})
}

// clip is a value of a request as a message quotes it: at most 40
// bytes of valid UTF-8.
func clip(v string) string {
	if c := cut(v, 40); len(c) < len(v) {
		return c + "…"
	} else {
		return c
	}
}

// nothingChosen answers a selection download without a photo in it.
const nothingChosen = "Tick the photos to download first."

// strictFilter is galleryFilterFrom for a download, which must not widen
// to the whole account when a filter is mistyped: a filter given (not
// empty) but not valid gives the message to show instead.
func strictFilter(r *http.Request) (GalleryFilter, string) {
	f := galleryFilterFrom(r)
	q := r.URL.Query()
	bad := func(name, want string) (GalleryFilter, string) {
		return f, name + "=" + clip(q.Get(name)) + " is not " + want + "."
	}
	switch kind, year, month, day := q.Get("kind"), q.Get("year"), q.Get("month"), q.Get("day"); {
	case kind != "" && kind != f.Kind:
		return bad("kind", "photo or video")
	case year != "" && (len(f.Month) < 4 || year != f.Month[:4]):
		return bad("year", "a year (YYYY)")
	case month != "" && len(f.Month) != 7:
		if m, err := strconv.Atoi(month); err != nil || m < 1 || m > 12 {
			return bad("month", "a month (1 to 12)")
		}
		return f, "month=" + clip(month) + " needs a year (YYYY)."
	case day != "" && day != f.Day:
		return bad("day", "a date (YYYY-MM-DD)")
	}
	return f, ""
}

// filteredRows returns every row the filter selects, in gallery order.
func (h *handler) filteredRows(ctx context.Context, account string, f GalleryFilter) ([]StoredObject, error) {
	var rows []StoredObject
	var after GalleryCursor
	for {
		page, err := h.gate.store.GalleryPage(ctx, account, f, after, false, downloadBatch)
		if err != nil {
			return nil, fmt.Errorf("list the photos of %s: %w", account, err)
		}
		rows = append(rows, page...)
		if len(page) < downloadBatch {
			return rows, nil
		}
		after = page[len(page)-1].Cursor()
	}
}

// chosenRows returns the rows of the relative keys rels that the account
// may see, in the order given.
func (h *handler) chosenRows(ctx context.Context, account string, rels []string) ([]StoredObject, error) {
	var keys []string
	seen := make(map[string]bool, len(rels))
	for _, rel := range rels {
		if key, ok := fullKey(account, rel); ok && objectKind(account, key) != KindHidden && !seen[key] {
			seen[key] = true
			keys = append(keys, key)
		}
	}
	found := make(map[string]StoredObject, len(keys))
	for chunk := range slices.Chunk(keys, downloadBatch) {
		rows, err := h.gate.store.LookupObjects(ctx, account, chunk)
		if err != nil {
			return nil, fmt.Errorf("look up the chosen photos of %s: %w", account, err)
		}
		for _, row := range rows {
			found[row.Key] = row
		}
	}
	var rows []StoredObject
	for _, key := range keys {
		if row, ok := found[key]; ok {
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// withGroups is what a download of rows holds: each row followed by the
// members of its group, hidden rows left out, every key once.
func (h *handler) withGroups(ctx context.Context, account string, rows []StoredObject) ([]StoredObject, error) {
	var ids []string
	seen := map[string]bool{}
	for _, row := range rows {
		if row.Group != "" && !seen[row.Group] {
			seen[row.Group] = true
			ids = append(ids, row.Group)
		}
	}
	groups := map[string][]StoredObject{}
	for chunk := range slices.Chunk(ids, downloadBatch) {
		members, err := h.gate.store.GroupObjects(ctx, account, chunk)
		if err != nil {
			return nil, fmt.Errorf("read the groups of %s: %w", account, err)
		}
		for _, m := range members {
			groups[m.Group] = append(groups[m.Group], m)
		}
	}
	clear(seen)
	var out []StoredObject
	add := func(row StoredObject) {
		if !seen[row.Key] && row.Kind != KindHidden && objectKind(account, row.Key) != KindHidden {
			seen[row.Key] = true
			out = append(out, row)
		}
	}
	for _, row := range rows {
		add(row)
		if row.Group != "" {
			for _, m := range groups[row.Group] {
				add(m)
			}
		}
	}
	return out, nil
}

// sendDownload sends rows and their group members as a ZIP or, with
// format=txt, as a list of links, in a file named after label.
func (h *handler) sendDownload(w http.ResponseWriter, r *http.Request, account, label string, rows []StoredObject) {
	rows, err := h.withGroups(r.Context(), account, rows)
	if err != nil {
		h.galleryFailed(w, r, err)
		return
	}
	if len(rows) == 0 {
		h.noSuchPhoto(w, r)
		return
	}
	name := "cloudkeep-" + account + "-" + label
	switch r.FormValue("format") {
	case "", "zip", "txt":
	default:
		h.badDownload(w, r, "format="+clip(r.FormValue("format"))+" is not zip or txt.")
		return
	}
	if r.FormValue("format") == "txt" {
		h.sendLinks(w, r, account, name+".txt", rows)
		return
	}
	h.sendZip(w, r, account, name+".zip", rows)
}

// sendZip streams rows as a stored ZIP of their plain paths, each object
// read as the index knows it (its ETag). The length is known first: a
// failure midway cuts the connection, so the browser reports a failed
// download rather than keeping a short archive.
func (h *handler) sendZip(w http.ResponseWriter, r *http.Request, account, filename string, rows []StoredObject) {
	entries := make([]zipstream.Entry, len(rows))
	now := h.svc.now()
	names := zipNames{}
	for i, row := range rows {
		entries[i] = zipstream.Entry{Name: names.of(relKey(account, row.Key)), Size: row.Size, Modified: zipTime(row, now)}
	}
	if err := zipstream.Check(entries); err != nil {
		h.galleryFailed(w, r, fmt.Errorf("zip the photos of %s: %w", account, err))
		return
	}
	size := zipstream.Size(entries)
	hd := w.Header()
	hd.Set("Content-Type", "application/zip")
	hd.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	hd.Set("Content-Length", strconv.FormatInt(size, 10))
	hd.Set("Cache-Control", "private, no-store")
	if r.Method == http.MethodHead { // a download manager asks the size first
		return
	}
	start, current := time.Now(), -1
	var storageErr error // why the storage failed to give a file, not the browser to take it
	cw := &stallWriter{w: w, rc: http.NewResponseController(w)}
	err := zipstream.Write(r.Context(), cw, entries, func(ctx context.Context, i int) (io.ReadCloser, error) {
		current = i
		rc, err := h.gate.openObject(ctx, rows[i])
		if err != nil {
			storageErr = err
			return nil, err
		}
		return &objectReader{ReadCloser: rc, err: &storageErr}, nil
	})
	log := h.log.With().Str("account", account).Int("files", len(rows)).Int64("size_bytes", size).Logger()
	if err != nil {
		key := ""
		if current >= 0 {
			key = rows[current].Key
		}
		ev := log.Error()
		if r.Context().Err() != nil {
			ev = log.Debug() // the browser left
		}
		ev.Str("key", key).Int64("sent_bytes", cw.n).Err(err).Msg("zip download failed")
		if storageErr != nil && r.Context().Err() == nil {
			h.storageFailed(w, r, account, rows[current], storageErr, cw.n)
			return
		}
		h.abortZip(w, r, cw.n)
		return
	}
	cw.rc.SetWriteDeadline(time.Time{}) // the connection may serve another request
	log.Info().Dur("duration_ms", time.Since(start)).Msg("zip download")
}

// savedName is the name a download gives the file of the relative key
// rel: its plain path, unless that is not UTF-8 (a file name of bytes in
// another encoding), which neither a ZIP nor a browser can carry: then
// the key, whose escapes (%E9) stand for those bytes.
func savedName(rel string) string {
	if p := plainPath(rel); utf8.ValidString(p) {
		return p
	}
	return rel
}

// zipNames gives the entries of one ZIP their names: the saved names,
// with '\\' (a separator to Windows' extractors, which would then climb
// out of the folder they extract to) made '_', each name once: two
// different files whose saved names meet (a file named in Latin-1 and one
// with a literal "%E9" in its name) are "name (2).ext" and so on.
type zipNames map[string]bool

func (z zipNames) of(rel string) string {
	name := strings.ReplaceAll(savedName(rel), `\`, "_")
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for n := 2; z[name]; n++ {
		name = stem + " (" + strconv.Itoa(n) + ")" + ext
	}
	z[name] = true
	return name
}

// zipTime is the date of row's entry in a ZIP: the file's modification
// time, else when it was taken, else now (a ZIP has no "unknown").
func zipTime(row StoredObject, now time.Time) time.Time {
	for _, s := range []string{row.MTime, row.Capture} {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t
		}
	}
	return now
}

// objectReader is an object being read into a ZIP; it keeps the storage's
// read error apart from the browser's write error.
type objectReader struct {
	io.ReadCloser
	err *error
}

func (o *objectReader) Read(p []byte) (int, error) {
	n, err := o.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		*o.err = err
	}
	return n, err
}

// storageFailed ends a ZIP download that failed because the storage did
// not give row. A file deleted or replaced behind the index's back is
// brought up to date in the index, so that the next try works; a storage
// that does not answer is named as such.
func (h *handler) storageFailed(w http.ResponseWriter, r *http.Request, account string, row StoredObject, err error, sent int64) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side: try again."
	var er minio.ErrorResponse
	var ne net.Error
	switch {
	case errors.As(err, &er) && (er.Code == "NoSuchKey" || er.Code == "PreconditionFailed"):
		if rerr := h.gate.refreshObject(r.Context(), account, row.Key); rerr != nil {
			h.log.Error().Err(rerr).Str("key", row.Key).Msg("update the index after a failed download")
			break
		}
		h.log.Warn().Str("account", account).Str("key", row.Key).Str("code", er.Code).
			Msg("object deleted or replaced around the gate: index updated")
		status = http.StatusConflict
		msg = savedName(relKey(account, row.Key)) + " changed in the storage since this page was made: try again — the list is up to date now."
	case errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded):
		status, msg = http.StatusServiceUnavailable, "The storage is not answering: try again later."
	}
	if sent > 0 {
		panic(http.ErrAbortHandler)
	}
	clearZipHeaders(w)
	h.renderGallery(w, r, status, "photos.html", galleryView{page: page{Title: "Photos", Error: msg}})
}

// refreshObject makes the index's row of key what the storage holds now:
// none when the object is gone, else its size, ETag and metadata, as a
// recount would.
func (g *Gate) refreshObject(ctx context.Context, account, key string) error {
	info, err := g.core.StatObject(ctx, g.cfg.Bucket, key, minio.StatObjectOptions{})
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return g.store.ForgetObject(ctx, account, key)
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", key, err)
	}
	o := StoredObject{AccountID: account, Key: key, Size: info.Size, ETag: info.ETag, Updated: g.now()}
	return g.store.PutObject(ctx, o.withMeta(metaOf(info.UserMetadata, info.ContentType)), "")
}

// clearZipHeaders takes back the headers of a ZIP before an error page.
func clearZipHeaders(w http.ResponseWriter) {
	for _, k := range []string{"Content-Type", "Content-Disposition", "Content-Length"} {
		w.Header().Del(k)
	}
}

// abortZip ends a ZIP download that failed after sent bytes: with an error
// page when none went out yet, else by cutting the connection, which the
// browser reports as a failed download.
func (h *handler) abortZip(w http.ResponseWriter, r *http.Request, sent int64) {
	if sent > 0 || r.Context().Err() != nil {
		panic(http.ErrAbortHandler)
	}
	clearZipHeaders(w)
	h.renderGallery(w, r, http.StatusInternalServerError, "photos.html", galleryView{
		page: page{Title: "Photos", Error: "Something went wrong on our side: try again."}})
}

// stallWriter counts the bytes written to a response and gives each write
// downloadStall to go through: a browser that stops reading (a laptop
// closed midway) frees the download's connection to the storage.
type stallWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
	n  int64
}

func (s *stallWriter) Write(p []byte) (int, error) {
	s.rc.SetWriteDeadline(time.Now().Add(downloadStall))
	n, err := s.w.Write(p)
	s.n += int64(n)
	return n, err
}

// openObject reads the object of row, and fails when the storage holds
// another version of it than the index (its ETag changed).
func (g *Gate) openObject(ctx context.Context, row StoredObject) (io.ReadCloser, error) {
	var opts minio.GetObjectOptions
	if etag := strings.Trim(row.ETag, `"`); etag != "" {
		if err := opts.SetMatchETag(etag); err != nil {
			return nil, err
		}
	}
	obj, err := g.client.GetObject(ctx, g.cfg.Bucket, row.Key, opts)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", row.Key, err)
	}
	// The request goes out now, so that a missing or changed object
	// fails here, before any byte of its entry.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, fmt.Errorf("read %s: %w", row.Key, err)
	}
	return obj, nil
}

// sendLinks sends one link per row, each good without a cookie for its
// one file while the sign-in it was made in lasts (linkTTL at most): for
// a download manager, or to fetch a year in parts.
func (h *handler) sendLinks(w http.ResponseWriter, r *http.Request, account, filename string, rows []StoredObject) {
	c, err := r.Cookie(sessionCookie)
	if err != nil { // requireSignIn has read it
		h.galleryFailed(w, r, fmt.Errorf("link list of %s: %w", account, err))
		return
	}
	ref, exp := keyedHash(h.svc.secret, "session", c.Value), h.svc.now().Add(linkTTL)
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	hd.Set("Cache-Control", "private, no-store")
	base := strings.TrimSuffix(h.cfg.Issuer, "/") + "/photos/link/"
	bw := bufio.NewWriter(w)
	for _, row := range rows {
		rel := relKey(account, row.Key)
		parts := strings.Split(rel, "/")
		for i, p := range parts {
			parts[i] = url.PathEscape(p)
		}
		bw.WriteString(base + h.linkToken(ref, exp, rel) + "/" + strings.Join(parts, "/") + "\n")
	}
	bw.Flush()
}

// linkToken is the token of the link to the relative key rel: the stored
// reference of the session it was made in, when it expires (Unix
// seconds) and a keyed hash of both with rel. It opens that one file, and
// only while that session lives.
func (h *handler) linkToken(ref string, expires time.Time, rel string) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return ref + "." + exp + "." + h.linkHash(ref, exp, rel)
}

func (h *handler) linkHash(ref, exp, rel string) string {
	return keyedHash(h.svc.secret, "gallery-link", ref, exp, rel)[:32]
}

// errLinkToken is a link token that is not one of ours, not for this
// file, or no longer valid.
var errLinkToken = errors.New("gallery link token not valid")

// linkAccount returns the account of a valid, live link token for rel:
// the account of its session, which must still be signed in.
func (h *handler) linkAccount(ctx context.Context, token, rel string) (string, error) {
	rest, hash, ok := cutLast(token, ".")
	if !ok {
		return "", errLinkToken
	}
	ref, exp, ok := cutLast(rest, ".")
	if !ok || ref == "" || !equalHash(hash, h.linkHash(ref, exp, rel)) {
		return "", errLinkToken
	}
	now := h.svc.now()
	if n, err := strconv.ParseInt(exp, 10, 64); err != nil || now.Unix() >= n {
		return "", errLinkToken
	}
	account, err := h.svc.store.Session(ctx, ref, now)
	if err != nil || account == "" {
		return "", errLinkToken
	}
	return account, nil
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// getLink redirects a line of a link list to the file, saved under its
// plain name: no cookie needed while the token and its session live.
func (h *handler) getLink(w http.ResponseWriter, r *http.Request) {
	if h.gate == nil {
		http.NotFound(w, r)
		return
	}
	account, err := h.linkAccount(r.Context(), r.PathValue("token"), r.PathValue("key"))
	if err != nil {
		h.renderGallery(w, r, http.StatusForbidden, "photo.html", galleryView{page: page{Title: "Photo", Error: linkExpired}})
		return
	}
	row, ok, err := h.lookupItem(r.Context(), account, r.PathValue("key"))
	switch {
	case err != nil:
		h.galleryFailed(w, r, err)
	case !ok:
		h.noSuchPhoto(w, r)
	default:
		h.redirectToStorage(w, r, row.Key, "", contentDisposition("attachment", path.Base(savedName(relKey(account, row.Key)))))
	}
}
