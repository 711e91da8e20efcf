package agent

import (
	"strings"

	"github.com/cloudkeep/cloudkeep/internal/keypath"
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
// Different paths get different keys ({path} is keypath.Escape(rel)).
func (t KeyTemplate) Key(root, rel string) string {
	return strings.NewReplacer(
		"{user}", t.user(),
		"{device}", t.Device,
		"{root}", root,
		"{path}", keypath.Escape(rel),
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
