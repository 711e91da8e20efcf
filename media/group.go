package media

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"regexp"
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
// the base name of name, lower-cased, without its media extensions and
// the markers phones put before them, e.g. "photo.jpg.xmp" → "photo",
// "PXL_20240131_101112345.RAW-01.COVER.jpg" → "pxl_20240131_101112345".
// A dot that ends no known extension stays: "2024.01.31 party.jpg" →
// "2024.01.31 party".
func GroupStem(name string) string {
	s := path.Base(strings.ReplaceAll(name, "\\", "/"))
	for {
		ext := strings.ToLower(path.Ext(s))
		if _, known := byExt[ext]; known && len(ext) < len(s) {
			s = s[:len(s)-len(ext)]
			continue
		}
		if loc := stemMarkers.FindStringIndex(s); loc != nil && loc[0] > 0 {
			s = s[:loc[0]]
			continue
		}
		return strings.ToLower(s)
	}
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

// MotionName reports whether name is one phones give a motion photo, a
// still with its video inside: Google's MVIMG_….jpg and PXL_….MP.jpg.
func MotionName(name string) bool {
	base := strings.ToUpper(path.Base(name))
	stem := strings.TrimSuffix(base, path.Ext(base))
	return strings.HasPrefix(base, "MVIMG_") || strings.HasSuffix(stem, ".MP")
}

// KindOf returns the kind a file named name has by its extension, and
// false when the extension is not one of media's.
func KindOf(name string) (Kind, bool) {
	k, ok := byExt[strings.ToLower(path.Ext(name))]
	return k, ok
}
