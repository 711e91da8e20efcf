// Package media decides which files are photos, videos and their kin, by
// name and by content, and which names are temporary or hidden.
package media

import (
	"io"
	"path"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/gabriel-vasile/mimetype"
)

// Kind is a class of media file.
type Kind string

// The kinds of media.
const (
	Photo   Kind = "photo"
	Video   Kind = "video"
	Music   Kind = "music"
	Sidecar Kind = "sidecar" // .xmp and .aae edit records beside a photo
)

var byExt = map[string]Kind{}

// rawExts are camera RAW formats a content sniffer may not recognise.
var rawExts = []string{".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2"}

func init() {
	for kind, exts := range map[Kind][]string{
		Photo:   append([]string{".jpg", ".jpeg", ".heic", ".heif", ".png", ".gif", ".webp", ".avif"}, rawExts...),
		Video:   {".mp4", ".mov", ".m4v", ".3gp", ".mkv", ".avi", ".webm"},
		Music:   {".mp3", ".m4a", ".flac", ".ogg", ".wav", ".aac", ".opus"},
		Sidecar: {".xmp", ".aae"},
	} {
		for _, e := range exts {
			byExt[e] = kind
		}
	}
}

// SniffLen is how many leading bytes Classify looks at.
const SniffLen = 3072

// Filter selects the files to back up: kinds, then include and exclude
// globs on the slash-separated path inside a root.
type Filter struct {
	Kinds   []Kind
	Include []string // empty: everything
	Exclude []string
}

// Match reports whether rel (a path inside a root) passes the globs. A
// pattern without a slash matches the file name at any depth.
func (f *Filter) Match(rel string) bool {
	if len(f.Include) > 0 && !matchAny(f.Include, rel) {
		return false
	}
	return !matchAny(f.Exclude, rel)
}

func matchAny(patterns []string, rel string) bool {
	base := path.Base(rel)
	for _, p := range patterns {
		target := rel
		if !strings.Contains(p, "/") {
			target = base
		}
		if ok, _ := doublestar.Match(p, target); ok {
			return true
		}
	}
	return false
}

// Classify returns the kind of a file named name whose first bytes head
// yields, and whether the filter wants it. The extension proposes a kind and
// the content must not contradict it (a text file named IMG_1.jpg is not a
// photo); a file with an unknown extension is kept when its content is a
// photo, video or music file of a wanted kind.
func (f *Filter) Classify(name string, head io.Reader) (Kind, bool) {
	ext := strings.ToLower(path.Ext(name))
	kind, known := byExt[ext]
	if known && !slices.Contains(f.Kinds, kind) {
		return kind, false
	}
	if kind == Sidecar {
		return kind, true
	}
	buf := make([]byte, SniffLen)
	n, _ := io.ReadFull(head, buf)
	if n == 0 {
		return kind, known // empty: only the name can tell
	}
	mt := mimetype.Detect(buf[:n])
	sniffed, isMedia := familyOf(mt)
	switch {
	case !known:
		return sniffed, isMedia && sniffed != Sidecar && slices.Contains(f.Kinds, sniffed)
	case isMedia:
		// Containers blur the line: an .mp4 may hold only sound.
		return kind, sniffed == kind || (kind == Video && sniffed == Music) || slices.Contains(rawExts, ext)
	default:
		// Unknown binary under a RAW extension is a RAW file the sniffer
		// does not know; anything it does know (text, zip, pdf) is not media.
		return kind, slices.Contains(rawExts, ext) && mt.Is("application/octet-stream")
	}
}

func familyOf(mt *mimetype.MIME) (Kind, bool) {
	for m := mt; m != nil; m = m.Parent() {
		s := m.String()
		switch {
		case strings.HasPrefix(s, "image/") && !strings.Contains(s, "svg") && !strings.Contains(s, "dwg"):
			return Photo, true
		case strings.HasPrefix(s, "video/"):
			return Video, true
		case strings.HasPrefix(s, "audio/"):
			return Music, true
		}
	}
	return "", false
}

// Ignored reports whether a file or folder name is hidden or temporary:
// dot-files, editor and download leftovers, thumbnail caches and items in
// a phone's trash.
func Ignored(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") {
		return true // also .thumbnails, .trashed-*, .pending-*
	}
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".tmp", ".part", ".crdownload", ".partial", ".download":
		return true
	}
	return false
}
