package agent

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// KeyTemplate turns a file's place into its object key, e.g.
// "{user}/{device}/{root}/{path}".
type KeyTemplate struct {
	Template string
	User     string        // {user} in static mode
	UserOf   func() string // {user} in account mode: the signed-in account ID
	Device   string
}

func (t KeyTemplate) user() string {
	if t.UserOf != nil {
		return t.UserOf()
	}
	return t.User
}

// Ready reports whether keys can be made: in account mode, only while an
// account is signed in ({user} is never empty).
func (t KeyTemplate) Ready() bool { return t.UserOf == nil || t.UserOf() != "" }

// Key returns the object key of path rel (slash-separated) inside root.
func (t KeyTemplate) Key(root, rel string) string {
	return strings.NewReplacer(
		"{user}", t.user(),
		"{device}", t.Device,
		"{root}", root,
		"{path}", escapeKey(rel),
	).Replace(t.Template)
}

// Prefix returns the part of every key that comes before the first
// per-file placeholder ({root} or {path}), e.g. "alice/laptop/". Incomplete
// uploads under it belong to this device.
func (t KeyTemplate) Prefix() string { return t.prefixBefore("{root}", "{path}") }

// UserPrefix returns the part of every key before the device, e.g.
// "alice/": where all of one person's devices store their files.
func (t KeyTemplate) UserPrefix() string { return t.prefixBefore("{device}", "{root}", "{path}") }

func (t KeyTemplate) prefixBefore(placeholders ...string) string {
	fixed := t.Template
	for _, p := range placeholders {
		if j := strings.Index(fixed, p); j >= 0 {
			fixed = fixed[:j]
		}
	}
	fixed = strings.NewReplacer("{user}", t.user(), "{device}", t.Device).Replace(fixed)
	if k := strings.LastIndex(fixed, "/"); k >= 0 {
		return fixed[:k+1]
	}
	return ""
}

// escapeKey makes a file name that is not valid UTF-8 usable as an S3 key:
// each invalid byte becomes %XX.
func escapeKey(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, "%%%02X", s[i])
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
