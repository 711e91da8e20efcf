package account

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/media"
)

// lookupItem returns the account's row of the relative key rel, and false
// when the account may not see it.
func (h *handler) lookupItem(ctx context.Context, account, rel string) (StoredObject, bool, error) {
	key, ok := fullKey(account, rel)
	if !ok || h.gate == nil || objectKind(account, key) == KindHidden {
		return StoredObject{}, false, nil
	}
	rows, err := h.gate.store.LookupObjects(ctx, account, []string{key})
	if err != nil {
		return StoredObject{}, false, fmt.Errorf("look up %s: %w", key, err)
	}
	for _, row := range rows {
		if row.Key == key && row.Kind != KindHidden {
			return row, true, nil
		}
	}
	return StoredObject{}, false, nil
}

// itemView is one photo or video, its facts and its group.
type itemView struct {
	Rel, Name, Type             string
	Image, Video                bool // shown in the page
	File, Download, Thumb       string
	Taken, Device, Folder, Size string
	Motion                      bool
	Members                     []memberView
	Newer, Older, Back          string
}

type memberView struct {
	Name, Role, Size, Download string
}

// Extensions whose files the page shows, and the type they are sent with.
// A MOV is H.264 or HEVC in a QuickTime box that browsers play as MP4.
var inlineTypes = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp",
	".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/mp4", ".webm": "video/webm",
}

func (h *handler) getPhotoItem(w http.ResponseWriter, r *http.Request) {
	account := h.requireSignIn(w, r)
	if account == "" {
		return
	}
	ctx := r.Context()
	rel := r.FormValue("key")
	row, ok, err := h.lookupItem(ctx, account, rel)
	if err != nil {
		h.galleryFailed(w, r, err)
		return
	}
	if !ok {
		h.noSuchPhoto(w, r)
		return
	}
	f := galleryFilterFrom(r)
	it, err := h.itemView(ctx, account, row, f)
	if err != nil {
		h.galleryFailed(w, r, err)
		return
	}
	h.renderGallery(w, r, http.StatusOK, "photo.html", galleryView{page: page{Title: it.Name}, Item: it})
}

func (h *handler) itemView(ctx context.Context, account string, row StoredObject, f GalleryFilter) (*itemView, error) {
	rel := relKey(account, row.Key)
	file := "/photos/file?" + url.Values{"key": {rel}}.Encode()
	ctype := inlineTypes[strings.ToLower(path.Ext(rel))]
	shown := shownPath(rel)
	it := &itemView{Rel: rel, Name: path.Base(shown), Type: fileType(rel), File: file, Download: file + "&download=1",
		Image: strings.HasPrefix(ctype, "image/"), Video: strings.HasPrefix(ctype, "video/"),
		Taken: takenText(row), Device: row.Device, Folder: path.Dir(shown), Size: humanSize(row.Size), Motion: row.Motion}
	if it.Device == "" {
		it.Device, _, _ = strings.Cut(shown, "/")
	}
	if row.SHA256 != "" {
		thumbs, err := h.gate.store.LookupObjects(ctx, account, []string{thumbKey(account, row.SHA256)})
		if err != nil {
			return nil, fmt.Errorf("look up the thumbnail of %s: %w", row.Key, err)
		}
		if len(thumbs) > 0 {
			it.Thumb = "/photos/thumb?" + url.Values{"key": {rel}}.Encode()
		}
	}
	groups, err := h.groupsOf(ctx, account, []StoredObject{row})
	if err != nil {
		return nil, err
	}
	for _, m := range groups[row.Group] {
		if m.Key != row.Key {
			mrel := relKey(account, m.Key)
			it.Members = append(it.Members, memberView{Name: path.Base(shownPath(mrel)), Role: memberRole(row, m), Size: humanSize(m.Size),
				Download: "/photos/file?" + url.Values{"key": {mrel}, "download": {"1"}}.Encode()})
		}
	}
	filters := f.query()
	it.Back = "/photos"
	if len(filters) > 0 {
		it.Back += "?" + filters.Encode()
	}
	for _, newer := range []bool{true, false} {
		next, _, err := h.galleryItems(ctx, account, f, row.Cursor(), newer, 1)
		if err != nil {
			return nil, err
		}
		if len(next) > 0 && newer {
			it.Newer = itemHref(relKey(account, next[0].Row.Key), filters)
		} else if len(next) > 0 {
			it.Older = itemHref(relKey(account, next[0].Row.Key), filters)
		}
	}
	return it, nil
}

// memberRole names what m is to the item row: "Live Photo video", "RAW".
func memberRole(row, m StoredObject) string {
	switch {
	case m.Kind == KindSidecar:
		return "Edit record"
	case m.Kind == KindVideo && row.Kind == KindPhoto:
		return "Live Photo video"
	case m.Kind == KindPhoto && media.IsRAW(m.Key):
		return "RAW"
	case m.Kind == KindPhoto:
		return "Photo"
	case m.Kind == KindVideo:
		return "Video"
	}
	return "File"
}

// takenText is when row was taken, on the clock where it was taken:
// "31 January 2024, 14:05 (UTC+09:00)", and where that came from when it
// is only a guess.
func takenText(row StoredObject) string {
	t, err := time.Parse(time.RFC3339Nano, row.Capture)
	if err != nil {
		return "Not known"
	}
	s := t.Format("2 January 2006, 15:04 (UTC-07:00)")
	switch row.CaptureSource {
	case wire.CaptureName:
		s += ", from the file name"
	case wire.CaptureMTime:
		s += ", the file's time"
	}
	return s
}

// getPhotoFile redirects to the original in the storage: shown in the
// browser for the images and videos it plays, else (and with download=1)
// saved under its name.
func (h *handler) getPhotoFile(w http.ResponseWriter, r *http.Request) {
	account := h.requireSignIn(w, r)
	if account == "" {
		return
	}
	row, ok, err := h.lookupItem(r.Context(), account, r.FormValue("key"))
	if err != nil {
		h.galleryFailed(w, r, err)
		return
	}
	if !ok {
		h.noSuchPhoto(w, r)
		return
	}
	name := path.Base(shownPath(relKey(account, row.Key)))
	ctype, inline := inlineTypes[strings.ToLower(path.Ext(name))]
	disposition := contentDisposition("inline", name)
	if !inline || r.FormValue("download") == "1" {
		ctype, disposition = "", contentDisposition("attachment", name)
	}
	h.redirectToStorage(w, r, row.Key, ctype, disposition)
}

// getPhotoThumb redirects to the thumbnail of a photo, or answers 404 when
// the devices made none.
func (h *handler) getPhotoThumb(w http.ResponseWriter, r *http.Request) {
	account := h.requireSignIn(w, r)
	if account == "" {
		return
	}
	ctx := r.Context()
	row, ok, err := h.lookupItem(ctx, account, r.FormValue("key"))
	if err == nil && ok && row.SHA256 != "" {
		var thumbs []StoredObject
		thumbs, err = h.gate.store.LookupObjects(ctx, account, []string{thumbKey(account, row.SHA256)})
		ok = len(thumbs) > 0
	} else {
		ok = false
	}
	switch {
	case err != nil:
		h.galleryFailed(w, r, err)
	case !ok:
		h.noSuchPhoto(w, r)
	default:
		h.redirectToStorage(w, r, thumbKey(account, row.SHA256), "image/jpeg", "")
	}
}

// redirectToStorage answers with a URL of key signed just now. The browser
// may keep the redirect for a minute, well within the URL's life.
func (h *handler) redirectToStorage(w http.ResponseWriter, r *http.Request, key, contentType, disposition string) {
	u, err := h.gate.presignGet(r.Context(), key, contentType, disposition)
	if err != nil {
		h.galleryFailed(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private, max-age=60")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// contentDisposition is a Content-Disposition header naming the file
// name: an ASCII name for old browsers and the exact one (RFC 6266).
func contentDisposition(kind, name string) string {
	var ascii, exact strings.Builder
	for _, c := range name {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			ascii.WriteByte('_')
		} else {
			ascii.WriteRune(c)
		}
	}
	for _, b := range []byte(name) {
		if b < 0x80 && (b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!#$&+-.^_`|~", b) >= 0) {
			exact.WriteByte(b)
		} else {
			fmt.Fprintf(&exact, "%%%02X", b)
		}
	}
	return kind + `; filename="` + ascii.String() + `"; filename*=UTF-8''` + exact.String()
}
