package storage

import (
	"testing"
	"time"
)

// A capture time whose offset RFC 3339 cannot write goes in UTC: the
// account service refuses a capture_time that does not parse, and the
// photo would never be stored.
func TestCaptureText(t *testing.T) {
	at := time.Date(2024, 2, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		offset int
		want   string
	}{
		{9 * 3600, "2024-02-01T19:00:00+09:00"},
		{-(3*3600 + 30*60), "2024-02-01T06:30:00-03:30"},
		{100*3600 + 39*60, "2024-02-01T10:00:00Z"},
		{9*3600 + 7, "2024-02-01T10:00:00Z"},
	} {
		got := captureText(at.In(time.FixedZone("", tc.offset)))
		if got != tc.want {
			t.Errorf("offset %ds: %s, want %s", tc.offset, got, tc.want)
		}
		if _, err := time.Parse(time.RFC3339Nano, got); err != nil {
			t.Errorf("offset %ds: %s does not parse: %v", tc.offset, got, err)
		}
	}
}
