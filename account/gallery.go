package account

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudkeep/cloudkeep/internal/keypath"
)

// galleryURLTTL is the lifetime of every storage URL the gallery gives a
// browser. The pages never hold one: their images, videos and downloads
// point at the service, which checks the session and redirects to a URL
// signed just then, so a page open for hours keeps working.
const galleryURLTTL = 5 * time.Minute

// routesGallery serves the account's photos: the pages (/photos, one item,
// the redirects to the storage) and the downloads (ZIP, link lists).
func (h *handler) routesGallery(mux *http.ServeMux) {
	h.routesGalleryPages(mux)
	h.routesGalleryDownloads(mux)
}

// fullKey is the key of rel, a key relative to the account's prefix, and
// false when rel does not name a key of the account (empty, "." or ".."
// parts, control characters, too long).
func fullKey(account, rel string) (string, bool) {
	key := account + "/" + rel
	if rel == "" || checkKey(account, key, false) != nil {
		return "", false
	}
	return key, true
}

// relKey is key without its "<account>/" prefix.
func relKey(account, key string) string { return strings.TrimPrefix(key, account+"/") }

// thumbKey is where the devices keep the thumbnail of a photo with this
// SHA-256 (the agent's ThumbsFolder under the account's prefix).
func thumbKey(account, sha256 string) string { return account + "/.thumbs/" + sha256 + ".jpg" }

// presignGet signs a GET of key for galleryURLTTL. The storage answers it
// with Cache-Control private (never kept by a shared cache) and, when not
// empty, the given Content-Type and Content-Disposition. The caller has
// checked that key belongs to the signed-in account.
func (g *Gate) presignGet(ctx context.Context, key, contentType, disposition string) (*url.URL, error) {
	q := url.Values{}
	q.Set("response-cache-control", "private, max-age=300")
	if contentType != "" {
		q.Set("response-content-type", contentType)
	}
	if disposition != "" {
		q.Set("response-content-disposition", disposition)
	}
	u, err := g.client.PresignedGetObject(ctx, g.cfg.Bucket, key, galleryURLTTL, q)
	if err != nil {
		return nil, fmt.Errorf("sign a download of %s: %w", key, err)
	}
	return u, nil
}

// storageOrigin is the scheme and host the presigned URLs point at.
func (g *Gate) storageOrigin() string {
	if g.cfg.Secure {
		return "https://" + g.cfg.Endpoint
	}
	return "http://" + g.cfg.Endpoint
}

// galleryCSP replaces the pages' Content-Security-Policy with one that
// also lets images and videos come from the storage (where the service's
// redirects lead) and lets the page's script fetch more of the page.
func (h *handler) galleryCSP(w http.ResponseWriter) {
	origin := "'self'"
	if h.gate != nil {
		origin += " " + h.gate.storageOrigin()
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src "+origin+
		"; media-src "+origin+"; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
}

// galleryFilterFrom reads the gallery's filters from r's query (or form):
// device, kind (photo or video), year (YYYY) with month (1–12), day
// (YYYY-MM-DD) and q. Values that are not valid are left out.
func galleryFilterFrom(r *http.Request) GalleryFilter {
	f := GalleryFilter{Device: cut(r.FormValue("device"), 256), Search: cut(strings.TrimSpace(r.FormValue("q")), 200)}
	if k := r.FormValue("kind"); k == KindPhoto || k == KindVideo {
		f.Kind = k
	}
	if y, err := strconv.Atoi(r.FormValue("year")); err == nil && y >= 1000 && y <= 9999 {
		f.Month = strconv.Itoa(y)
		if m, err := strconv.Atoi(r.FormValue("month")); err == nil && m >= 1 && m <= 12 {
			f.Month = fmt.Sprintf("%04d-%02d", y, m)
		}
	}
	if d, err := time.Parse(time.DateOnly, r.FormValue("day")); err == nil {
		f.Day = d.Format(time.DateOnly)
	}
	return f
}

// cut is s made valid UTF-8 and cut to at most n bytes at a character's
// start: a filter longer than any name matches nothing and is not echoed
// back whole.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// query is f as the query parameters galleryFilterFrom reads.
func (f GalleryFilter) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("device", f.Device)
	set("kind", f.Kind)
	if len(f.Month) >= 4 {
		set("year", f.Month[:4])
	}
	if len(f.Month) == 7 {
		m, _ := strconv.Atoi(f.Month[5:])
		set("month", strconv.Itoa(m))
	}
	set("day", f.Day)
	set("q", f.Search)
	return q
}

// plainPath is the path a relative key stands for, as `cloudkeep restore`
// writes it: the devices escape '%' and bytes that are not UTF-8 in keys
// (internal/keypath), so "50%25 off.png" is the file "50% off.png". Names
// shown, saved and zipped are plain paths; keys stay keys in URLs.
func plainPath(rel string) string { return keypath.Unescape(rel) }

// galleryAccount is the signed-in account of a request that needs the
// storage, or "" once the browser was sent to sign in (or told the
// service keeps no storage: 404).
func (h *handler) galleryAccount(w http.ResponseWriter, r *http.Request) string {
	account := h.requireSignIn(w, r)
	if account != "" && h.gate == nil {
		http.NotFound(w, r)
		return ""
	}
	return account
}
