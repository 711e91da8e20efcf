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

// tsExts are MPEG transport streams (AVCHD camcorders write .MTS and
// .m2ts), which the content sniffer does not recognise; see isTransportStream.
var tsExts = []string{".ts", ".mts", ".m2ts"}

func init() {
	for kind, exts := range map[Kind][]string{
		Photo:   append([]string{".jpg", ".jpeg", ".heic", ".heif", ".png", ".gif", ".webp", ".avif"}, rawExts...),
		Video:   append([]string{".mp4", ".mov", ".m4v", ".3gp", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".wmv", ".flv"}, tsExts...),
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
	Include []string // empty: every file of a wanted kind
	Exclude []string
	Presets []string // names of exclude presets (Presets), each a set of exclude globs
}

// Verdict is what a Filter's globs say of a path.
type Verdict int

// The verdicts of Filter.Globs.
const (
	ByKind      Verdict = iota // no glob decides: the kind rules (Classify) do
	Included                   // an include glob matches: wanted whatever its kind
	Excluded                   // an exclude glob matches: not wanted
	NotIncluded                // include globs are set and none matches: not wanted
)

// Globs returns the verdict of the include and exclude globs on rel (a path
// inside a root) and, for Included and Excluded, the pattern that matched,
// or "preset NAME" when an exclude preset did (ExcludedBy says which).
// An exclude wins over an include; an include wins over the kind rules. A
// pattern without a slash matches the file name at any depth. Hidden and
// temporary names are not the globs' business: see Ignored.
func (f *Filter) Globs(rel string) (Verdict, string) {
	if p, ok := matchAny(f.Exclude, rel); ok {
		return Excluded, p
	}
	if name, ok := matchPreset(f.Presets, rel); ok {
		return Excluded, presetRule + name
	}
	if len(f.Include) == 0 {
		return ByKind, ""
	}
	if p, ok := matchAny(f.Include, rel); ok {
		return Included, p
	}
	return NotIncluded, ""
}

// Match reports whether rel (a path inside a root) passes the globs: it is
// not excluded, and included when include globs are set.
func (f *Filter) Match(rel string) bool {
	v, _ := f.Globs(rel)
	return v == ByKind || v == Included
}

func matchAny(patterns []string, rel string) (string, bool) {
	base := path.Base(rel)
	for _, p := range patterns {
		target := rel
		if !strings.Contains(p, "/") {
			target = base
		}
		if ok, _ := doublestar.Match(p, target); ok {
			return p, true
		}
	}
	return "", false
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
		return kind, false // empty: nothing to keep, whatever the name
	}
	mt := mimetype.Detect(buf[:n])
	sniffed, isMedia := familyOf(mt)
	switch {
	case slices.Contains(tsExts, ext):
		// A .ts may as well be TypeScript: the sync bytes tell.
		return kind, isTransportStream(buf[:n]) || (isMedia && sniffed == Video)
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

// isTransportStream reports whether head is the start of an MPEG transport
// stream: a 0x47 sync byte at the start of every packet it holds, packets
// of 188 bytes, or of 192 with a 4-byte timestamp first (AVCHD .MTS, .m2ts).
// At least two packets must be present, or the whole head be one.
func isTransportStream(head []byte) bool {
	for _, p := range []struct{ offset, size int }{{0, 188}, {4, 192}} {
		if len(head) < p.offset+188 {
			continue
		}
		ok, packets := true, 0
		for i := p.offset; i < len(head) && ok; i += p.size {
			ok = head[i] == 0x47
			packets++
		}
		if ok && (packets >= 2 || len(head) <= p.offset+p.size) {
			return true
		}
	}
	return false
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

// RestoreSuffix ends the name of a file that `cloudkeep restore` is still
// writing (package restore).
const RestoreSuffix = ".cloudkeep-part"

// Ignored reports whether a file or folder name is hidden or temporary:
// dot-files, editor, download and restore leftovers, thumbnail caches and
// items in a phone's trash.
func Ignored(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") {
		return true // also .thumbnails, .trashed-*, .pending-*
	}
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".tmp", ".part", ".crdownload", ".partial", ".download", RestoreSuffix:
		return true
	}
	return false
}
