package manifest

import (
	"time"
)

// Set is the manifests of an account's devices, by device.
type Set map[string]*Manifest

// Holds reports whether the state at the instant at (zero: now) holds the
// object key, stored at stored by device: some device's manifest has it
// live then, or it was stored after its device's manifest was written (and
// not after at). known is false when device has no manifest: nothing then
// says whether it is live, and the caller keeps it.
func (s Set) Holds(key, device string, stored, at time.Time) (held, known bool) {
	for _, m := range s {
		if e, ok := m.Find(key); ok && ((at.IsZero() && e.LiveNow()) || (!at.IsZero() && e.LiveAt(at))) {
			return true, true
		}
	}
	m := s[device]
	if m == nil {
		return true, false
	}
	if _, ok := m.Find(key); !ok && stored.After(m.Written) && (at.IsZero() || !stored.After(at)) {
		return true, true
	}
	return false, true
}

// LiveElsewhere reports whether a manifest other than device's holds key
// live now.
func (s Set) LiveElsewhere(key, device string) bool {
	for d, m := range s {
		if e, ok := m.Find(key); d != device && ok && e.LiveNow() {
			return true
		}
	}
	return false
}

// ParseAsOf reads the instant of --as-of: a date (YYYY-MM-DD) is the end of
// that local day, its last nanosecond; else an RFC 3339 time.
func ParseAsOf(s string) (time.Time, error) {
	if d, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return d.AddDate(0, 0, 1).Add(-time.Nanosecond), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
