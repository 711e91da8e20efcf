package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	day  = 24 * 60 * 60 // seconds
	week = 7 * day
)

// dayNames are the days a window may name, Monday first: a week here
// starts on Monday.
var dayNames = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// Window is a time of the week when uploads may go, in local time.
type Window struct {
	Text  string // as written, e.g. "01:00-06:00" or "Sat 00:00-Sun 23:59"
	Limit int64  // bytes per second while the window is open; 0: the storage's bandwidth limit
	// Unlimited means no limit while the window is open, not even the
	// storage's: bandwidth_limit: 0 written in the window.
	Unlimited bool
	spans     []span
}

// span is [from, to) in seconds since Monday 00:00; to may pass the end
// of the week (a window from Sunday night into Monday).
type span struct{ from, to int }

// ParseWindow reads a window:
//
//	"01:00-06:00"          every day; "22:00-06:00" crosses midnight
//	"Sat 00:00-Sun 23:59"  from one day of the week to another
//	"Fri 22:00-02:00"      on one day, into the next when it crosses midnight
//
// An end of 23:59 runs to midnight (so does 24:00): "Sat 00:00-Sun 23:59"
// is the whole weekend.
func ParseWindow(s string) (Window, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok || strings.Contains(to, "-") {
		return Window{}, fmt.Errorf("want HH:MM-HH:MM or Day HH:MM-Day HH:MM, e.g. 01:00-06:00 or Sat 00:00-Sun 23:59")
	}
	d1, t1, err := dayTime(from, false)
	if err != nil {
		return Window{}, err
	}
	d2, t2, err := dayTime(to, true)
	if err != nil {
		return Window{}, err
	}
	if d1 < 0 && d2 >= 0 {
		return Window{}, fmt.Errorf("the end names a day, the start does not: write e.g. Sat 00:00-Sun 23:59")
	}
	w := Window{Text: strings.TrimSpace(s)}
	switch {
	case d2 >= 0: // Day HH:MM-Day HH:MM
		w.spans = []span{spanOf(d1*day+t1, d2*day+t2, week)}
	case d1 >= 0: // Day HH:MM-HH:MM
		w.spans = []span{spanOf(d1*day+t1, d1*day+t2, day)}
	default:
		for d := range 7 {
			w.spans = append(w.spans, spanOf(d*day+t1, d*day+t2, day))
		}
	}
	if w.spans[0].from == w.spans[0].to {
		return Window{}, fmt.Errorf("starts where it ends: the window is empty")
	}
	return w, nil
}

// spanOf is [from, to), to moved on by wrap when it is not after from.
func spanOf(from, to, wrap int) span {
	if to < from {
		to += wrap
	}
	return span{from, to}
}

// dayTime reads "[Day ]HH:MM": the day (0 Monday, -1 none) and the
// seconds since its midnight. An end may be 24:00, and 23:59 at the end
// means midnight.
func dayTime(s string, end bool) (int, int, error) {
	fields := strings.Fields(s)
	d := -1
	switch len(fields) {
	case 1:
	case 2:
		d = dayIndex(fields[0])
		if d < 0 {
			return 0, 0, fmt.Errorf("%q is not a day (use %s)", fields[0], strings.Join(dayNames, ", "))
		}
		fields = fields[1:]
	default:
		return 0, 0, fmt.Errorf("%q: want HH:MM or Day HH:MM, e.g. 01:00 or Sat 00:00", strings.TrimSpace(s))
	}
	hh, mm, ok := strings.Cut(fields[0], ":")
	h, herr := strconv.Atoi(hh)
	m, merr := strconv.Atoi(mm)
	switch {
	case !ok || herr != nil || merr != nil || len(mm) != 2 || len(hh) > 2:
		return 0, 0, fmt.Errorf("%q is not a time (use HH:MM, e.g. 06:30)", fields[0])
	case end && h == 24 && m == 0:
	case h < 0 || h > 23:
		return 0, 0, fmt.Errorf("hour must be 00-23")
	case m < 0 || m > 59:
		return 0, 0, fmt.Errorf("minute must be 00-59")
	}
	t := (h*60 + m) * 60
	if end && h == 23 && m == 59 {
		t = day
	}
	return d, t, nil
}

// dayIndex is the day s names, "Sat" or "Saturday" in any case (0
// Monday), or -1.
func dayIndex(s string) int {
	for i, n := range dayNames {
		if strings.EqualFold(s, n) || strings.EqualFold(s, fullDays[i]) {
			return i
		}
	}
	return -1
}

var fullDays = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

// weekSecond is t's seconds since the Monday 00:00 before it, in t's
// location.
func weekSecond(t time.Time) int {
	d := (int(t.Weekday()) + 6) % 7 // Monday 0
	return d*day + t.Hour()*3600 + t.Minute()*60 + t.Second()
}

// covers reports whether the span holds week second s.
func (p span) covers(s int) bool {
	return p.from <= s && s < p.to || p.from <= s+week && s+week < p.to
}

// Open reports whether t is inside the window.
func (w Window) Open(t time.Time) bool {
	s := weekSecond(t)
	for _, p := range w.spans {
		if p.covers(s) {
			return true
		}
	}
	return false
}

// String returns the window as written.
func (w Window) String() string { return w.Text }

// nextStart is the first start of a span of ws after t, as a local time.
func nextStart(ws []Window, t time.Time) time.Time {
	now, best := weekSecond(t), -1
	for _, w := range ws {
		for _, p := range w.spans {
			ahead := ((p.from%week-now)%week + week) % week
			if ahead == 0 {
				ahead = week
			}
			if best < 0 || ahead < best {
				best = ahead
			}
		}
	}
	if best < 0 {
		return time.Time{}
	}
	return wallAfter(t, now+best)
}

// closing is when the windows of ws open at t all close: the end of the
// span holding t, followed through spans that hold that end in turn.
func closing(ws []Window, t time.Time) time.Time {
	start := weekSecond(t)
	end := start
	for range 2 * week / 60 { // a bound: every step moves end on
		next := end
		for _, w := range ws {
			for _, p := range w.spans {
				// -week: a span begun last week, open still (a night
				// into Monday morning).
				for _, shift := range []int{-week, 0, week, 2 * week} {
					if p.from+shift <= end && end < p.to+shift && p.to+shift > next {
						next = p.to + shift
					}
				}
			}
		}
		if next == end {
			break
		}
		end = next
	}
	if end-start >= week {
		return time.Time{} // never closes
	}
	return wallAfter(t, end)
}

// wallAfter is the local time at week second s counted from the Monday
// before t (s may pass the end of that week), found by the calendar so
// that a change of daylight saving time does not move it. A time the
// clocks skip (02:30 when they go from 02:00 to 03:00) is the first
// instant whose clock shows it or later: the moment they jump.
func wallAfter(t time.Time, s int) time.Time {
	monday := t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
	y, m, d := monday.Date()
	w := time.Date(y, m, d+s/day, 0, 0, s%day, 0, t.Location())
	want := time.Date(y, m, d+s/day, 0, 0, s%day, 0, time.UTC)
	shown := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC)
	switch start, end := w.ZoneBounds(); {
	case shown.After(want) && !start.IsZero(): // moved past the gap
		return start
	case shown.Before(want) && !end.IsZero(): // moved before the gap
		return end
	}
	return w
}
