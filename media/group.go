package media

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"regexp"
	"slices"
	"strings"
)

// A group is what a person sees as one photo: a Live Photo's still and its
// video (IMG_0001.HEIC, IMG_0001.MOV), a RAW and the JPEG the camera made
// beside it (DSC_0001.NEF, DSC_0001.JPG; Pixel's PXL_….RAW-02.ORIGINAL.dng
// and PXL_….RAW-01.COVER.jpg), and their edit records (photo.jpg.xmp,
// photo.xmp, IMG_0001.AAE). The members share a folder and a name without
// its extensions: the group stem.

// stemMarkers are the inner name parts phones add before the extension,
// which the members of a group do not share.
var stemMarkers = regexp.MustCompile(`(?i)\.(raw-\d+|cover|original|mp|portrait|night)$`)

// GroupStem returns the name that ties the members of a group together:
// the base name of name, lower-cased, without one sidecar extension, then
// one media extension and the markers phones put before it, e.g.
// "photo.jpg.xmp" → "photo", "PXL_20240131_101112345.RAW-01.COVER.jpg" →
// "pxl_20240131_101112345". Only one of each goes: "IMG_0001.JPG.xmp.xmp"
// → "img_0001.jpg.xmp", the edit record of an edit record, not of the
// photo. A dot that ends no known extension stays: "2024.01.31 party.jpg"
// → "2024.01.31 party".
func GroupStem(name string) string {
	s := path.Base(strings.ReplaceAll(name, "\\", "/"))
	s = trimExt(s, func(k Kind) bool { return k == Sidecar })
	s = trimExt(s, func(k Kind) bool { return k != Sidecar })
	for {
		loc := stemMarkers.FindStringIndex(s)
		if loc == nil || loc[0] == 0 {
			return strings.ToLower(s)
		}
		s = s[:loc[0]]
	}
}

// trimExt returns s without its extension when that is one of media's of
// a kind that want accepts and something is left before it.
func trimExt(s string, want func(Kind) bool) string {
	ext := path.Ext(s)
	if k, known := byExt[strings.ToLower(ext)]; known && want(k) && len(ext) < len(s) {
		return s[:len(s)-len(ext)]
	}
	return s
}

// GroupID returns the stable ID of the group with stem (GroupStem) in the
// folder dir (slash-separated, "" at the top) of the root named root on
// device: the first 16 hex digits of the SHA-256 of the four joined with
// NUL bytes. Every file has one; a lone photo is a group of one.
func GroupID(device, root, dir, stem string) string {
	sum := sha256.Sum256([]byte(device + "\x00" + root + "\x00" + dir + "\x00" + stem))
	return hex.EncodeToString(sum[:8])
}

// IsSidecar reports whether name is an edit record kept beside a photo
// (.xmp, .aae).
func IsSidecar(name string) bool {
	return byExt[strings.ToLower(path.Ext(name))] == Sidecar
}

// KindOf returns the kind a file named name has by its extension, and
// false when the extension is not one of media's.
func KindOf(name string) (Kind, bool) {
	k, ok := byExt[strings.ToLower(path.Ext(name))]
	return k, ok
}

// IsRAW reports whether a file named name is a camera RAW photo by its
// extension.
func IsRAW(name string) bool {
	return slices.Contains(rawExts, strings.ToLower(path.Ext(name)))
}

// Extensions returns the file extensions (lower case, with the dot) of the
// files of kind k, sorted.
func Extensions(k Kind) []string {
	var out []string
	for ext, kind := range byExt {
		if kind == k {
			out = append(out, ext)
		}
	}
	slices.Sort(out)
	return out
}
