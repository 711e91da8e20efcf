package capture

import (
	"fmt"
	"strconv"
	"time"
)

// civil returns the wall clock y-mo-d h:mi:s in loc, and false when the
// fields are not a real date and time (a 30 February, an hour 25), which
// time.Date would silently roll over into another day.
func civil(y, mo, d, h, mi, s int, loc *time.Location) (time.Time, bool) {
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != mo || t.Day() != d ||
		t.Hour() != h || t.Minute() != mi || t.Second() != s {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, loc), true
}

// Offsets in use on Earth run from −12:00 to +14:00, in steps of 15
// minutes.
const (
	minOffset = -12 * 3600
	maxOffset = 14 * 3600
)

// parseOffset reads a UTC offset written "+09:00" or "+0900" and returns it
// as a fixed zone. An offset outside −12:00…+14:00, or with minutes other
// than 00, 15, 30 or 45, is no offset: false.
func parseOffset(s string) (*time.Location, bool) {
	if len(s) == 6 && s[3] == ':' {
		s = s[:3] + s[4:]
	}
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return nil, false
	}
	h, okH := digits(s[1:3])
	m, okM := digits(s[3:5])
	if !okH || !okM || m >= 60 || m%15 != 0 {
		return nil, false
	}
	sec := h*3600 + m*60
	if s[0] == '-' {
		sec = -sec
	}
	if sec < minOffset || sec > maxOffset {
		return nil, false
	}
	return time.FixedZone(fmt.Sprintf("%c%02d:%02d", s[0], h, m), sec), true
}

// digits reads s, which must be decimal digits and nothing else.
func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
