package account

import (
	"strconv"
	"strings"
)

var sizeUnits = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}

// sizeUnit returns the largest binary unit not above n, and its size.
func sizeUnit(n int64) (string, float64) {
	i, div := 0, 1.0
	for i < len(sizeUnits)-1 && float64(n) >= div*1024 {
		i, div = i+1, div*1024
	}
	return sizeUnits[i], div
}

// oneDecimal writes v with at most one decimal ("48.9", "50").
func oneDecimal(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

// humanSize writes a byte count for people: "1.2 GiB".
func humanSize(n int64) string {
	unit, div := sizeUnit(n)
	return oneDecimal(float64(n)/div) + " " + unit
}

// usedOf writes usage against a quota in the quota's unit: "48.9 of 50
// GiB"; without a quota, the usage alone.
func usedOf(used, quota int64) string {
	if quota <= 0 {
		return humanSize(used)
	}
	unit, div := sizeUnit(quota)
	return oneDecimal(float64(used)/div) + " of " + oneDecimal(float64(quota)/div) + " " + unit
}

// UsageText describes usage for the account page: "1.2 GiB of 50 GiB
// used", or "1.2 GiB used" without a quota.
func UsageText(u Usage) string {
	if u.Quota <= 0 {
		return humanSize(u.Used) + " used"
	}
	return humanSize(u.Used) + " of " + humanSize(u.Quota) + " used"
}
