// Package keypath turns a file's path inside its root into the {path} part
// of an object key, and back.
//
// Escape is injective: '%' and each byte that is not part of valid UTF-8
// become %XX, so two different paths never share a key. A path that is
// valid UTF-8 without '%' is its own key, as it always was.
package keypath

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape returns the key form of a slash-separated path.
func Escape(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '%' || r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, "%%%02X", s[i])
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Unescape returns the path whose key form is s: Unescape(Escape(p)) == p
// for every p. A key Escape cannot have written (an escaped '/' or '.', a
// lower-case or lone '%', as in keys written before '%' was escaped:
// "50%.jpg") is its own path, taken literally: decoding is the exact
// inverse of Escape and nothing else, so no key turns into a '/' or a ".."
// its writer did not put there.
func Unescape(s string) string {
	p, _ := Decode(s)
	return p
}

// Decode is Unescape, and reports whether s is a key Escape writes
// (false: the path returned is s itself).
func Decode(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, utf8.ValidString(s)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	if p := b.String(); Escape(p) == s {
		return p, true
	}
	return s, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}
