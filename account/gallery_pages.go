package account

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudkeep/cloudkeep/media"
)

// galleryTiles is how many tiles one page of the gallery shows.
const galleryTiles = 120

// noSuchPhoto is the one answer for a key the signed-in account may not
// see: another account's, unknown, hidden.
const noSuchPhoto = "No such photo."

// routesGalleryPages serves /photos, one item and the storage redirects.
func (h *handler) routesGalleryPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /photos", h.getPhotos)
	mux.HandleFunc("GET /photos/more", h.getPhotosMore)
	mux.HandleFunc("GET /photos/item", h.getPhotoItem)
	mux.HandleFunc("GET /photos/file", h.getPhotoFile)
	mux.HandleFunc("GET /photos/thumb", h.getPhotoThumb)
}

// galleryView is what photos.html and photo.html get.
type galleryView struct {
	page
	NoStorage      bool // the service keeps no storage: nothing to show
	Empty, NoMatch bool // no photos at all; none that the filters select
	Filters        []selectField
	Search         string
	Tiles          []galleryTile
	// More leads to the next page (without script); MoreFragment is the
	// same page as a fragment for gallery.js.
	More, MoreFragment string
	DownloadAll        string // every photo the filters select, as a ZIP
	Item               *itemView
	// StorageOrigin is where the photos come from, for gallery.js to name
	// when they do not load.
	StorageOrigin string
	StorageDown   string // why the grid's images will not load
}

// selectField is one of the filter form's drop-down lists.
type selectField struct {
	Name, Label string
	Options     []option
}

type option struct {
	Value, Label string
	Selected     bool
}

// galleryTile is one tile of the grid, with the day header before it
// when its day differs from the tile before.
type galleryTile struct {
	Head                *dayHead
	Rel, Name, Type     string
	Href, Thumb         string
	Video, Live, Motion bool
	RAW                 bool // a RAW photo goes with it
}

type dayHead struct {
	Day, Label string
	Zip        string // downloads the day; "" when the day is not a capture date
}

// galleryItem is an item of the gallery: a row that is a tile and the
// rows of its group (itself included).
type galleryItem struct {
	Row   StoredObject
	Group []StoredObject
}

// renderGallery writes a gallery page: never kept by a shared cache, and
// allowed to show images and videos from the storage.
func (h *handler) renderGallery(w http.ResponseWriter, r *http.Request, status int, name string, v galleryView) {
	v.CSRF = h.csrfToken(w, r)
	if v.Fields == nil {
		v.Fields = FieldErrors{}
	}
	v.Nav, v.Wide = true, true
	h.galleryCSP(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		h.log.Error().Err(err).Str("page", name).Msg("render")
	}
}

// galleryFailed answers a store error on a gallery page.
func (h *handler) galleryFailed(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error().Err(err).Str("path", r.URL.Path).Msg("gallery failed")
	h.renderGallery(w, r, http.StatusInternalServerError, "photos.html", galleryView{
		page: page{Title: "Photos", Error: "Something went wrong on our side: try again."}})
}

func (h *handler) noSuchPhoto(w http.ResponseWriter, r *http.Request) {
	h.renderGallery(w, r, http.StatusNotFound, "photo.html", galleryView{page: page{Title: "Photo", Error: noSuchPhoto}})
}

func (h *handler) getPhotos(w http.ResponseWriter, r *http.Request) {
	account := h.requireSignIn(w, r)
	if account == "" {
		return
	}
	v := galleryView{page: page{Title: "Photos"}}
	if h.gate == nil {
		v.NoStorage = true
		h.renderGallery(w, r, http.StatusOK, "photos.html", v)
		return
	}
	ctx := r.Context()
	f, after := galleryFilterFrom(r), parseCursor(account, r.FormValue("after"))
	v.StorageOrigin = h.gate.storageOrigin()
	if !h.gate.storageAnswers(ctx) {
		v.StorageDown = "The storage is not answering: photos cannot be shown or downloaded right now."
	}
	month := loneMonth(r, f)
	if month != 0 {
		v.Notice = "Pick a year to choose a month."
	}
	facets, err := h.gate.store.GalleryFacets(ctx, account)
	if err != nil {
		h.galleryFailed(w, r, fmt.Errorf("read the gallery's facets: %w", err))
		return
	}
	if err := h.fillTiles(ctx, &v, account, f, after); err != nil {
		h.galleryFailed(w, r, err)
		return
	}
	v.Filters, v.Search = filterFields(f, facets, month), f.Search
	q := f.query()
	q.Set("format", "zip")
	v.DownloadAll = "/photos/download?" + q.Encode()
	if len(v.Tiles) == 0 {
		v.Empty = f == (GalleryFilter{}) && after == (GalleryCursor{})
		v.NoMatch = !v.Empty
	}
	h.renderGallery(w, r, http.StatusOK, "photos.html", v)
}

// loneMonth is the month (1–12) the request chose without a year, which
// the filter leaves out; 0 when it chose none or a year with it.
func loneMonth(r *http.Request, f GalleryFilter) int {
	m, err := strconv.Atoi(r.FormValue("month"))
	if err != nil || m < 1 || m > 12 || len(f.Month) == 7 {
		return 0
	}
	return m
}

// storageCheckTimeout bounds the look at the storage before the grid is
// shown, and storageCheckFor is how long its answer is kept, per replica.
const (
	storageCheckTimeout = 2 * time.Second
	storageCheckFor     = 10 * time.Second
)

// storageCheck is the last look at a gate's storage.
type storageCheck struct {
	mu sync.Mutex
	at time.Time
	ok bool
}

var storageChecks sync.Map // *Gate → *storageCheck

// storageAnswers reports whether the storage answered a look at the
// bucket within storageCheckTimeout, asking at most every
// storageCheckFor: when it does not, every thumbnail of the grid would
// fail without a word why.
func (g *Gate) storageAnswers(ctx context.Context) bool {
	v, _ := storageChecks.LoadOrStore(g, &storageCheck{})
	c := v.(*storageCheck)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < storageCheckFor {
		return c.ok
	}
	ctx, cancel := context.WithTimeout(ctx, storageCheckTimeout)
	defer cancel()
	start := time.Now()
	err := g.Check(ctx)
	c.at, c.ok = time.Now(), err == nil
	if err != nil {
		g.log.Warn().Err(err).Int64("duration_ms", time.Since(start).Milliseconds()).Msg("storage not answering")
	}
	return c.ok
}

// getPhotosMore answers gallery.js with the next tiles, as a fragment.
func (h *handler) getPhotosMore(w http.ResponseWriter, r *http.Request) {
	account := h.galleryAccount(w, r)
	if account == "" {
		return
	}
	var v galleryView
	f, after := galleryFilterFrom(r), parseCursor(account, r.FormValue("after"))
	if err := h.fillTiles(r.Context(), &v, account, f, after); err != nil {
		h.log.Error().Err(err).Str("path", r.URL.Path).Msg("gallery failed")
		http.Error(w, "Something went wrong on our side: try again.", http.StatusInternalServerError)
		return
	}
	h.renderGallery(w, r, http.StatusOK, "gallery-fragment", v)
}

// fillTiles puts a page of tiles after cursor into v, and the links to the
// next page when there is one.
func (h *handler) fillTiles(ctx context.Context, v *galleryView, account string, f GalleryFilter, after GalleryCursor) error {
	items, more, err := h.galleryItems(ctx, account, f, after, false, galleryTiles)
	if err != nil {
		return err
	}
	if v.Tiles, err = h.tiles(ctx, account, f, items); err != nil {
		return err
	}
	if more {
		q := f.query()
		q.Set("after", formatCursor(account, items[len(items)-1].Row.Cursor()))
		v.More, v.MoreFragment = "/photos?"+q.Encode(), "/photos/more?"+q.Encode()
	}
	return nil
}

// galleryItems returns up to want items the filter selects after cursor
// (towards older ones, or newer ones with newer set), and whether there
// are more. Group members are not items: it reads a few rows more than
// it needs, and reads on while members left it short.
func (h *handler) galleryItems(ctx context.Context, account string, f GalleryFilter, after GalleryCursor, newer bool, want int) ([]galleryItem, bool, error) {
	store := h.gate.store
	batch := want + want/4 + 2
	var items []galleryItem
	for len(items) <= want {
		rows, err := store.GalleryPage(ctx, account, f, after, newer, batch)
		if err != nil {
			return nil, false, fmt.Errorf("read the gallery of %s: %w", account, err)
		}
		groups, err := h.groupsOf(ctx, account, rows)
		if err != nil {
			return nil, false, err
		}
		for _, row := range rows {
			g := groups[row.Group]
			if row.Group == "" {
				g = []StoredObject{row}
			}
			if !isMember(row, g) {
				items = append(items, galleryItem{Row: row, Group: g})
			}
			if len(items) > want {
				break
			}
		}
		if len(rows) < batch {
			break
		}
		after = rows[len(rows)-1].Cursor()
	}
	if len(items) > want {
		return items[:want], true, nil
	}
	return items, false, nil
}

// groupsOf returns the rows of the groups of rows, by group, in one query.
func (h *handler) groupsOf(ctx context.Context, account string, rows []StoredObject) (map[string][]StoredObject, error) {
	var ids []string
	for _, row := range rows {
		if row.Group != "" && !slices.Contains(ids, row.Group) {
			ids = append(ids, row.Group)
		}
	}
	groups := map[string][]StoredObject{}
	if len(ids) == 0 {
		return groups, nil
	}
	members, err := h.gate.store.GroupObjects(ctx, account, ids)
	if err != nil {
		return nil, fmt.Errorf("read the groups of %s: %w", account, err)
	}
	for _, m := range members {
		groups[m.Group] = append(groups[m.Group], m)
	}
	return groups, nil
}

// isMember reports whether row goes with another item of its group rather
// than being a tile: a sidecar, a Live Photo's video (its group holds a
// photo), a RAW whose group holds a photo that is not RAW.
func isMember(row StoredObject, group []StoredObject) bool {
	switch {
	case row.Kind == KindSidecar || row.Kind == KindHidden:
		return true
	case row.Kind == KindVideo:
		return slices.ContainsFunc(group, func(o StoredObject) bool { return o.Kind == KindPhoto })
	case row.Kind == KindPhoto && media.IsRAW(row.Key):
		return slices.ContainsFunc(group, func(o StoredObject) bool { return o.Kind == KindPhoto && !media.IsRAW(o.Key) })
	}
	return false
}

// tiles turns items into tiles with their day headers, looking up which
// have a thumbnail in one query.
func (h *handler) tiles(ctx context.Context, account string, f GalleryFilter, items []galleryItem) ([]galleryTile, error) {
	var keys []string
	for _, it := range items {
		if it.Row.SHA256 != "" {
			keys = append(keys, thumbKey(account, it.Row.SHA256))
		}
	}
	thumbs := map[string]bool{}
	if len(keys) > 0 {
		rows, err := h.gate.store.LookupObjects(ctx, account, keys)
		if err != nil {
			return nil, fmt.Errorf("look up the thumbnails of %s: %w", account, err)
		}
		for _, t := range rows {
			thumbs[t.Key] = true
		}
	}
	filters := f.query()
	tiles := make([]galleryTile, 0, len(items))
	lastDay := "-"
	for _, it := range items {
		t := newTile(account, it, filters)
		if it.Row.SHA256 != "" && thumbs[thumbKey(account, it.Row.SHA256)] {
			t.Thumb = "/photos/thumb?" + url.Values{"key": {t.Rel}}.Encode()
		}
		if head := headOf(it.Row, f); head.Day != lastDay {
			t.Head, lastDay = &head, head.Day
		}
		tiles = append(tiles, t)
	}
	return tiles, nil
}

func newTile(account string, it galleryItem, filters url.Values) galleryTile {
	rel := relKey(account, it.Row.Key)
	t := galleryTile{Rel: rel, Name: path.Base(shownPath(rel)), Type: fileType(rel), Href: itemHref(rel, filters),
		Video: it.Row.Kind == KindVideo, Motion: it.Row.Motion}
	for _, m := range it.Group {
		if m.Key == it.Row.Key {
			continue
		}
		t.Live = t.Live || (m.Kind == KindVideo && it.Row.Kind == KindPhoto)
		t.RAW = t.RAW || (m.Kind == KindPhoto && media.IsRAW(m.Key))
	}
	return t
}

// shownPath is the plain path of rel made valid UTF-8, as pages show it:
// "phone/50% off.png" for the key "phone/50%25 off.png".
func shownPath(rel string) string { return strings.ToValidUTF8(plainPath(rel), "\uFFFD") }

// fileType is the name's extension as a tile shows it: "MP4", "HEIC".
func fileType(name string) string {
	if ext := strings.TrimPrefix(path.Ext(name), "."); ext != "" {
		return strings.ToUpper(ext)
	}
	return "FILE"
}

func itemHref(rel string, filters url.Values) string {
	q := url.Values{"key": {rel}}
	for k, v := range filters {
		q[k] = v
	}
	return "/photos/item?" + q.Encode()
}

// headOf is the day header of row: the date on the clock where it was
// taken, else the date of the file's time, else "Date unknown". A day
// filter selects by the same dates (GalleryFilter), so its ZIP holds the
// day's files of either.
func headOf(row StoredObject, f GalleryFilter) dayHead {
	zip := func(d time.Time) string {
		f.Day = d.Format(time.DateOnly)
		q := f.query()
		q.Set("format", "zip")
		return "/photos/download?" + q.Encode()
	}
	if d, ok := dateOf(row.Capture); ok {
		return dayHead{Day: d.Format(time.DateOnly), Label: d.Format("Monday, 2 January 2006"), Zip: zip(d)}
	}
	if d, ok := dateOf(row.MTime); ok {
		return dayHead{Day: "file-" + d.Format(time.DateOnly), Label: d.Format("Monday, 2 January 2006") + " (file date)", Zip: zip(d)}
	}
	return dayHead{Day: "unknown", Label: "Date unknown"}
}

// dateOf is the date an RFC 3339 time writes, on its own clock.
func dateOf(s string) (time.Time, bool) {
	if len(s) < 10 {
		return time.Time{}, false
	}
	d, err := time.Parse(time.DateOnly, s[:10])
	return d, err == nil
}

// formatCursor writes c as the after= parameter: the capture instant and
// the key relative to the account, "<ns>.<base64url key>".
func formatCursor(account string, c GalleryCursor) string {
	return strconv.FormatInt(c.CaptureNanos, 10) + "." + base64.RawURLEncoding.EncodeToString([]byte(relKey(account, c.Key)))
}

// parseCursor reads an after= parameter of the account; anything else is
// the start.
func parseCursor(account, s string) GalleryCursor {
	ns, enc, ok := strings.Cut(s, ".")
	if !ok {
		return GalleryCursor{}
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	rel, err2 := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || err2 != nil {
		return GalleryCursor{}
	}
	key, ok := fullKey(account, string(rel))
	if !ok {
		return GalleryCursor{}
	}
	return GalleryCursor{CaptureNanos: n, Key: key}
}

// filterFields are the filter form's lists: devices, kinds, the years
// that hold photos (newest first) and the months, loneMonth selected when
// it was chosen without a year.
func filterFields(f GalleryFilter, facets GalleryFacets, loneMonth int) []selectField {
	devices := selectField{Name: "device", Label: "Device", Options: []option{{Value: "", Label: "All devices"}}}
	for _, d := range facets.Devices {
		devices.Options = append(devices.Options, option{Value: d, Label: d, Selected: d == f.Device})
	}
	if f.Device != "" && !slices.Contains(facets.Devices, f.Device) {
		devices.Options = append(devices.Options, option{Value: f.Device, Label: f.Device, Selected: true})
	}
	kinds := selectField{Name: "kind", Label: "Kind", Options: []option{{Value: "", Label: "All"},
		{Value: KindPhoto, Label: "Photos", Selected: f.Kind == KindPhoto}, {Value: KindVideo, Label: "Videos", Selected: f.Kind == KindVideo}}}
	year, month := 0, 0
	if len(f.Month) >= 4 {
		year, _ = strconv.Atoi(f.Month[:4])
	}
	if len(f.Month) == 7 {
		month, _ = strconv.Atoi(f.Month[5:])
	} else if loneMonth != 0 {
		month = loneMonth
	}
	years := selectField{Name: "year", Label: "Year", Options: []option{{Value: "", Label: "Any year"}}}
	for _, y := range yearSpan(facets, year) {
		years.Options = append(years.Options, option{Value: strconv.Itoa(y), Label: strconv.Itoa(y), Selected: y == year})
	}
	months := selectField{Name: "month", Label: "Month", Options: []option{{Value: "", Label: "Any month"}}}
	for i, m := range monthNames {
		months.Options = append(months.Options, option{Value: strconv.Itoa(i + 1), Label: m, Selected: i+1 == month})
	}
	return []selectField{devices, kinds, years, months}
}

var monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

// yearSpan lists the years from the latest capture to the earliest, and
// chosen when outside them. The facets hold UTC instants and the filter
// the local date, which is up to 14 hours apart: the span widens by that.
func yearSpan(facets GalleryFacets, chosen int) []int {
	var years []int
	if facets.FirstNanos != 0 || facets.LastNanos != 0 {
		first := time.Unix(0, facets.FirstNanos).UTC().Add(-14 * time.Hour).Year()
		last := time.Unix(0, facets.LastNanos).UTC().Add(14 * time.Hour).Year()
		for y := last; y >= first && len(years) < 200; y-- {
			years = append(years, y)
		}
	}
	if chosen != 0 && !slices.Contains(years, chosen) {
		years = append(years, chosen)
		slices.Sort(years)
		slices.Reverse(years)
	}
	return years
}
