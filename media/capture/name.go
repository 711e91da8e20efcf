package capture

import (
	"regexp"
	"strconv"
	"time"
)

// namePatterns are the dates phones and apps put in file names, most
// precise first. Each captures year, month, day and, for most, hour,
// minute, second. Fractions of a second may follow the seconds
// (PXL_20240131_140500123).
var namePatterns = []*regexp.Regexp{
	// Screenshot_2024-01-31-14-05-00, 2024-01-31 14.05.00,
	// Screenshot 2024-01-31 at 14.05.00, photo_2024-01-31_14-05-00
	regexp.MustCompile(`(?:^|\D)(\d{4})-(\d{2})-(\d{2})(?:[ _T-]|[ _]at[ _])(\d{2})[.:_-](\d{2})[.:_-](\d{2})`),
	// signal-2024-01-31-140500
	regexp.MustCompile(`(?:^|\D)(\d{4})-(\d{2})-(\d{2})[ _T-](\d{2})(\d{2})(\d{2})`),
	// IMG_20240131_140500, PXL_20240131_140500123, Screenshot_20240131-140500
	regexp.MustCompile(`(?:^|\D)(\d{4})(\d{2})(\d{2})[ _T-](\d{2})(\d{2})(\d{2})`),
	// 2024-01-31.jpg
	regexp.MustCompile(`(?:^|\D)(\d{4})-(\d{2})-(\d{2})(?:\D|$)`),
	// VID-20240131-WA0001, IMG-20240131-WA0001
	regexp.MustCompile(`(?:^|\D)(\d{4})(\d{2})(\d{2})(?:\D|$)`),
}

// nameTime finds a capture time in a file name, read in time.Local: a
// date alone gives midnight. Impossible dates, years before 1990 and
// dates more than a day after now are not dates.
func nameTime(name string, now time.Time) (time.Time, bool) {
	for _, re := range namePatterns {
		for _, m := range re.FindAllStringSubmatch(name, -1) {
			if t, ok := nameDate(m[1:], now); ok {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// nameDate builds a time from the matched fields, rejecting what
// time.Date would silently normalise (a 31 February, an hour 25).
func nameDate(f []string, now time.Time) (time.Time, bool) {
	n := make([]int, 6)
	for i, s := range f {
		n[i], _ = strconv.Atoi(s)
	}
	t, ok := civil(n[0], n[1], n[2], n[3], n[4], n[5], time.Local)
	if !ok || n[0] < 1990 || t.After(now.Add(24*time.Hour)) {
		return time.Time{}, false
	}
	return t, true
}
