package account

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDeviceName is the longest device name, in characters.
const maxDeviceName = 64

// checkDeviceName refuses an empty or overlong device name, and one with
// control, line-separator or text-direction characters, which would show
// it as something else on the account page.
func checkDeviceName(name string) error {
	n := utf8.RuneCountInString(name)
	if n == 0 || n > maxDeviceName || strings.TrimSpace(name) == "" {
		return FieldErrors{"device_name": fmt.Sprintf("Give the device a name of 1 to %d characters.", maxDeviceName)}
	}
	for _, r := range name {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.In(r, unicode.Bidi_Control, unicode.Zl, unicode.Zp) {
			return FieldErrors{"device_name": "The device name must not hold control or text-direction characters."}
		}
	}
	return nil
}
