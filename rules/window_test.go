package rules

import (
	"testing"
	"time"
)

// at is a local time in the week of Monday 2026-11-23 (Mon 23 … Sun 29).
func at(day, hh, mm int) time.Time {
	return time.Date(2026, 11, 23+day, hh, mm, 0, 0, time.Local)
}

func TestParseWindow_Errors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"25:00-06:00", "hour must be 00-23"},
		{"01:60-06:00", "minute must be 00-59"},
		{"01:00", "want HH:MM-HH:MM or Day HH:MM-Day HH:MM, e.g. 01:00-06:00 or Sat 00:00-Sun 23:59"},
		{"1am-6am", `"1am" is not a time (use HH:MM, e.g. 06:30)`},
		{"Sam 00:00-Sun 23:59", `"Sam" is not a day (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)`},
		{"00:00-Sun 23:59", "the end names a day, the start does not: write e.g. Sat 00:00-Sun 23:59"},
		{"06:00-06:00", "starts where it ends: the window is empty"},
		{"24:00-06:00", "hour must be 00-23"},
	} {
		_, err := ParseWindow(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseWindow(%q): got %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestWindow_Open(t *testing.T) {
	for _, tc := range []struct {
		window string
		t      time.Time
		open   bool
	}{
		{"01:00-06:00", at(0, 0, 59), false},
		{"01:00-06:00", at(0, 1, 0), true},
		{"01:00-06:00", at(3, 5, 59), true},
		{"01:00-06:00", at(3, 6, 0), false},
		{"22:00-06:00", at(0, 23, 0), true}, // across midnight
		{"22:00-06:00", at(1, 3, 0), true},
		{"22:00-06:00", at(0, 0, 30), true}, // Monday morning: Sunday's night
		{"22:00-06:00", at(1, 12, 0), false},
		{"Sat 00:00-Sun 23:59", at(5, 0, 0), true},
		{"Sat 00:00-Sun 23:59", at(6, 23, 59), true}, // 23:59 runs to midnight
		{"Sat 00:00-Sun 23:59", at(4, 23, 59), false},
		{"Sat 00:00-Sun 23:59", at(0, 0, 0), false},
		{"Sun 22:00-Mon 02:00", at(0, 1, 0), true}, // across the end of the week
		{"Sun 22:00-Mon 02:00", at(6, 23, 0), true},
		{"Sun 22:00-Mon 02:00", at(0, 3, 0), false},
		{"fri 22:00-02:00", at(5, 1, 0), true}, // Friday's night into Saturday
		{"fri 22:00-02:00", at(4, 1, 0), false},
		{"Saturday 10:00-12:00", at(5, 11, 0), true},
		{"00:00-24:00", at(2, 13, 0), true},
	} {
		w, err := ParseWindow(tc.window)
		if err != nil {
			t.Fatalf("ParseWindow(%q): %v", tc.window, err)
		}
		if got := w.Open(tc.t); got != tc.open {
			t.Errorf("%q open at %s: got %v, want %v", tc.window, tc.t.Format("Mon 15:04"), got, tc.open)
		}
	}
}

func windows(t *testing.T, texts ...string) []Window {
	t.Helper()
	var ws []Window
	for _, s := range texts {
		w, err := ParseWindow(s)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	return ws
}

func TestNextStartAndClosing(t *testing.T) {
	ws := windows(t, "01:00-06:00", "Sat 00:00-Sun 23:59")
	for _, tc := range []struct {
		now, next time.Time
	}{
		{at(0, 12, 0), at(1, 1, 0)},  // Monday noon: Tuesday 01:00
		{at(0, 0, 30), at(0, 1, 0)},  // the same night
		{at(4, 7, 0), at(5, 0, 0)},   // Friday morning: Saturday 00:00
		{at(6, 23, 59), at(7, 1, 0)}, // Sunday night: Monday 01:00, next week
	} {
		if got := nextStart(ws, tc.now); !got.Equal(tc.next) {
			t.Errorf("next start after %s: got %s, want %s", tc.now.Format("Mon 15:04"), got.Format("Mon 2 15:04"), tc.next.Format("Mon 2 15:04"))
		}
	}
	// Saturday 03:00 is in both; the weekend runs on to Monday 00:00, and
	// Monday's 01:00 window does not touch it.
	if got, want := closing(ws, at(5, 3, 0)), at(7, 0, 0); !got.Equal(want) {
		t.Errorf("closing from Sat 03:00: got %s, want %s", got, want)
	}
	if got, want := closing(ws, at(2, 2, 0)), at(2, 6, 0); !got.Equal(want) {
		t.Errorf("closing from Wed 02:00: got %s, want %s", got, want)
	}
	if got := closing(windows(t, "00:00-24:00"), at(2, 2, 0)); !got.IsZero() {
		t.Errorf("a window open all week closes at %s, want never", got)
	}
}

// A window is kept in wall-clock time: on the night the clocks go back it
// opens at 01:00 local time still.
func TestNextStart_DaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	ws := windows(t, "04:00-06:00")
	now := time.Date(2026, 10, 24, 12, 0, 0, 0, berlin) // Saturday; clocks go back on Sunday 03:00
	got := nextStart(ws, now)
	if want := time.Date(2026, 10, 25, 4, 0, 0, 0, berlin); !got.Equal(want) || got.Hour() != 4 {
		t.Errorf("next start: got %s, want %s", got, want)
	}
}

// A window begun last week and open still (a night into Monday morning)
// closes when it ends, not at once.
func TestClosing_SpanFromLastWeek(t *testing.T) {
	for _, tc := range []struct {
		window    string
		now, want time.Time
	}{
		{"22:00-06:00", at(0, 3, 0), at(0, 6, 0)},
		{"Sun 23:00-Mon 01:00", at(0, 0, 30), at(0, 1, 0)},
		{"Sun 22:00-Mon 02:00", at(0, 1, 0), at(0, 2, 0)},
	} {
		if got := closing(windows(t, tc.window), tc.now); !got.Equal(tc.want) {
			t.Errorf("%q from %s closes at %s, want %s", tc.window, tc.now.Format("Mon 15:04"), got.Format("Mon 15:04"), tc.want.Format("Mon 15:04"))
		}
	}
	// Monday 03:00 outside a window begun last week: the next start is
	// counted from this week.
	if got, want := nextStart(windows(t, "Sun 23:00-Mon 01:00"), at(0, 3, 0)), at(6, 23, 0); !got.Equal(want) {
		t.Errorf("next start after Mon 03:00: got %s, want %s", got, want)
	}
}

// On the night the clocks go forward (02:00 CET to 03:00 CEST) a window
// from 02:30 opens, and one until 02:30 closes, at the jump: 03:00 CEST.
func TestWindow_SpringForward(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	jump := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC) // Sunday 03:00 CEST
	if got := nextStart(windows(t, "02:30-04:00"), time.Date(2026, 3, 29, 1, 30, 0, 0, berlin)); !got.Equal(jump) {
		t.Errorf("next start of 02:30-04:00 from 01:30 CET: got %s, want %s", got, jump.In(berlin))
	}
	if got := closing(windows(t, "22:00-02:30"), time.Date(2026, 3, 29, 1, 59, 0, 0, berlin)); !got.Equal(jump) {
		t.Errorf("22:00-02:30 from 01:59 CET closes at %s, want %s", got, jump.In(berlin))
	}
	if got, want := nextStart(windows(t, "01:30-04:00"), time.Date(2026, 3, 29, 1, 0, 0, 0, berlin)), time.Date(2026, 3, 29, 1, 30, 0, 0, berlin); !got.Equal(want) {
		t.Errorf("a time the clocks show moved: got %s, want %s", got, want)
	}
}
