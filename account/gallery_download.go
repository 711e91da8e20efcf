package account

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/zipstream"
)

const (
	// downloadBatch is how many rows a download reads from the index in
	// one query.
	downloadBatch = 1000
	// linkTTL is how long the lines of a link list work, without a
	// session: long enough for a download manager to fetch a year.
	linkTTL = 24 * time.Hour
	// maxDownloadForm bounds the body of a POST /photos/download: about
	// 100,000 keys.
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
	account := h.requireSignIn(w, r)
	if account == "" {
		return
	}
	if h.gate == nil {
		http.NotFound(w, r)
		return
	}
	f := galleryFilterFrom(r)
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
	account := h.requireSignIn(w, r)
	if account == "" {
		return
	}
	if h.gate == nil {
		http.NotFound(w, r)
		return
	}
	rows, err := h.chosenRows(r.Context(), account, r.PostForm["key"])
	if err != nil {
		h.galleryFailed(w, r, err)
		return
	}
	h.sendDownload(w, r, account, "selection", rows)
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
	if r.FormValue("format") == "txt" {
		h.sendLinks(w, account, name+".txt", rows)
		return
	}
	h.sendZip(w, r, account, name+".zip", rows)
}

// sendZip streams rows as a stored ZIP of their relative keys, each
// object read as the index knows it (its ETag). The length is known
// first: a failure midway cuts the connection, so the browser reports a
// failed download rather than keeping a short archive.
func (h *handler) sendZip(w http.ResponseWriter, r *http.Request, account, filename string, rows []StoredObject) {
	entries := make([]zipstream.Entry, len(rows))
	for i, row := range rows {
		mtime, _ := time.Parse(time.RFC3339Nano, row.MTime)
		entries[i] = zipstream.Entry{Name: relKey(account, row.Key), Size: row.Size, Modified: mtime}
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
	cw := &stallWriter{w: w, rc: http.NewResponseController(w)}
	err := zipstream.Write(r.Context(), cw, entries, func(ctx context.Context, i int) (io.ReadCloser, error) {
		current = i
		return h.gate.openObject(ctx, rows[i])
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
		h.abortZip(w, r, cw.n)
		return
	}
	cw.rc.SetWriteDeadline(time.Time{}) // the connection may serve another request
	log.Info().Dur("duration_ms", time.Since(start)).Msg("zip download")
}

// abortZip ends a ZIP download that failed after sent bytes: with an error
// page when none went out yet, else by cutting the connection, which the
// browser reports as a failed download.
func (h *handler) abortZip(w http.ResponseWriter, r *http.Request, sent int64) {
	if sent > 0 || r.Context().Err() != nil {
		panic(http.ErrAbortHandler)
	}
	for _, k := range []string{"Content-Type", "Content-Disposition", "Content-Length"} {
		w.Header().Del(k)
	}
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
	return obj, nil
}

// sendLinks sends one link per row, each good for linkTTL without a
// session: for a download manager, or to fetch a year in parts.
func (h *handler) sendLinks(w http.ResponseWriter, account, filename string, rows []StoredObject) {
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	hd.Set("Cache-Control", "private, no-store")
	base := strings.TrimSuffix(h.cfg.Issuer, "/") + "/photos/link/" + h.linkToken(account, h.svc.now().Add(linkTTL)) + "/"
	bw := bufio.NewWriter(w)
	for _, row := range rows {
		parts := strings.Split(relKey(account, row.Key), "/")
		for i, p := range parts {
			parts[i] = url.PathEscape(p)
		}
		bw.WriteString(base + strings.Join(parts, "/") + "\n")
	}
	bw.Flush()
}

// linkToken is the token of a link list's lines: the account, when they
// expire (Unix seconds) and a keyed hash of both.
func (h *handler) linkToken(account string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return account + "." + exp + "." + h.linkHash(account, exp)
}

func (h *handler) linkHash(account, exp string) string {
	return keyedHash(h.svc.secret, "gallery-link", account, exp)[:32]
}

// errLinkToken is a link token that is not one of ours or has expired.
var errLinkToken = errors.New("gallery link token not valid")

// linkAccount returns the account of a valid, live link token.
func (h *handler) linkAccount(token string) (string, error) {
	rest, hash, ok := cutLast(token, ".")
	if !ok {
		return "", errLinkToken
	}
	account, exp, ok := cutLast(rest, ".")
	if !ok || account == "" || !equalHash(hash, h.linkHash(account, exp)) {
		return "", errLinkToken
	}
	if n, err := strconv.ParseInt(exp, 10, 64); err != nil || h.svc.now().Unix() >= n {
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
// name: no session needed while the token lives.
func (h *handler) getLink(w http.ResponseWriter, r *http.Request) {
	if h.gate == nil {
		http.NotFound(w, r)
		return
	}
	account, err := h.linkAccount(r.PathValue("token"))
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
		h.redirectToStorage(w, r, row.Key, "", contentDisposition("attachment", path.Base(row.Key)))
	}
}
