// Package manifest is the record a device keeps in the bucket of which
// object keys are live on it, and since when: renames are server-side
// copies and local deletes leave the remote objects in place (right for a
// backup), so the bucket alone cannot tell the device's state from every
// version it ever stored. Restore reads the manifests to bring back the
// state of a day; prune reads them to find objects whose files are gone.
package manifest

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Folder is where the manifests lie below the account's prefix: a hidden
// part, never listed as files.
const Folder = ".cloudkeep/manifests/"

// Suffix ends every manifest's key.
const Suffix = ".json.gz"

// Version is the format written; Decode refuses a newer one.
const Version = 1

// Key is the key of device's manifest below userPrefix ("alice/").
func Key(userPrefix, device string) string { return userPrefix + Folder + device + Suffix }

// DeviceOf returns the device whose manifest key is, and whether it is one.
func DeviceOf(key string) (string, bool) {
	i := strings.LastIndex(key, Folder)
	if i < 0 || !strings.HasSuffix(key, Suffix) {
		return "", false
	}
	d := strings.TrimSuffix(key[i+len(Folder):], Suffix)
	return d, d != "" && !strings.Contains(d, "/")
}

// Span is a time a key was live on the device: [From, To), in Unix
// nanoseconds; To is 0 while it is live now.
type Span struct {
	From, To int64
}

// MarshalJSON writes a span as [from, to], for a small manifest.
func (s Span) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 42)
	b = append(b, '[')
	b = strconv.AppendInt(b, s.From, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, s.To, 10)
	return append(b, ']'), nil
}

// UnmarshalJSON reads [from, to].
func (s *Span) UnmarshalJSON(b []byte) error {
	from, to, ok := strings.Cut(strings.Trim(string(b), "[] \t\r\n"), ",")
	var err1, err2 error
	s.From, err1 = strconv.ParseInt(strings.TrimSpace(from), 10, 64)
	s.To, err2 = strconv.ParseInt(strings.TrimSpace(to), 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("a span is [from, to] in Unix nanoseconds, not %s", b)
	}
	return nil
}

// Covers reports whether the key was live at the instant at.
func (s Span) Covers(at int64) bool { return s.From <= at && (s.To == 0 || at < s.To) }

// Entry is one key the device held: the size and SHA-256 it last had there,
// and when it was live.
type Entry struct {
	Key    string `json:"k"`
	Size   int64  `json:"s"`
	SHA256 string `json:"h,omitempty"`
	Live   []Span `json:"l"` // oldest first
}

// LiveNow reports whether the device holds the key now.
func (e Entry) LiveNow() bool { return len(e.Live) > 0 && e.Live[len(e.Live)-1].To == 0 }

// LiveAt reports whether the device held the key at the instant at.
func (e Entry) LiveAt(at time.Time) bool {
	n := at.UnixNano()
	for _, s := range e.Live {
		if s.Covers(n) {
			return true
		}
	}
	return false
}

// Ended is when the key stopped being live on the device: the end of its
// last span, or the zero time while it is live now.
func (e Entry) Ended() time.Time {
	if len(e.Live) == 0 || e.LiveNow() {
		return time.Time{}
	}
	return time.Unix(0, e.Live[len(e.Live)-1].To)
}

// Manifest is one device's keys over time.
type Manifest struct {
	Version int       `json:"version"`
	Device  string    `json:"device"`
	Written time.Time `json:"written"` // keys stored after this are not known to it
	// Writer names the journal that wrote it (random, kept in the state
	// directory): another one under the same device name is another
	// machine, or another user, writing the same manifest.
	Writer string  `json:"writer,omitempty"`
	Keys   []Entry `json:"keys"` // by key
}

// Live returns the entries live at the instant at; a zero at means now.
func (m *Manifest) Live(at time.Time) []Entry {
	var out []Entry
	for _, e := range m.Keys {
		if (at.IsZero() && e.LiveNow()) || (!at.IsZero() && e.LiveAt(at)) {
			out = append(out, e)
		}
	}
	return out
}

// Find returns the entry of key.
func (m *Manifest) Find(key string) (Entry, bool) {
	i, ok := slices.BinarySearchFunc(m.Keys, key, func(e Entry, k string) int { return strings.Compare(e.Key, k) })
	if !ok {
		return Entry{}, false
	}
	return m.Keys[i], true
}

// Encode writes m as gzip-compressed JSON, its keys sorted.
func Encode(w io.Writer, m *Manifest) error {
	slices.SortFunc(m.Keys, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
	if m.Version == 0 {
		m.Version = Version
	}
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(zw).Encode(m); err != nil {
		return err
	}
	return zw.Close()
}

// NewerError is the error of Decode for a manifest of a newer format than
// this cloudkeep reads: it must not be written over.
type NewerError struct {
	Device  string
	Version int
}

func (e *NewerError) Error() string {
	return fmt.Sprintf("manifest of %s has format %d, newer than this cloudkeep reads (%d): upgrade cloudkeep", e.Device, e.Version, Version)
}

// IsNewer reports whether err is a NewerError.
func IsNewer(err error) bool {
	var n *NewerError
	return errors.As(err, &n)
}

// maxSize bounds a manifest once decompressed: a few hundred bytes a key,
// so millions of keys, and a manifest that would fill the memory is refused.
var maxSize int64 = 512 << 20

// Decode reads a manifest Encode wrote.
func Decode(r io.Reader) (*Manifest, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("manifest: not gzip: %w", err)
	}
	defer zr.Close()
	lr := &io.LimitedReader{R: zr, N: maxSize + 1}
	var m Manifest
	if err := json.NewDecoder(lr).Decode(&m); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("manifest: larger than %d MiB decompressed", maxSize>>20)
		}
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Version > Version {
		return nil, &NewerError{m.Device, m.Version}
	}
	slices.SortFunc(m.Keys, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
	return &m, nil
}
