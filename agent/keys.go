package agent

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/keypath"
)

// KeyTemplate turns a file's place and capture time into its object key,
// e.g. "{user}/{device}/{root}/{path}" or "{user}/{year}/{month}/{name}".
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

// Key returns the object key of path rel (slash-separated) inside root,
// taken at taken. {year}, {month} and {day} are taken's wall clock as it
// is (the zone it was taken in); {name} is rel's base name and {path} rel,
// both escaped by keypath. Different paths get different keys under
// {path}; under {name} two files may meet on one key, which the sender
// tells apart (Suffixed).
func (t KeyTemplate) Key(root, rel string, taken time.Time) string {
	return strings.NewReplacer(
		"{user}", t.user(),
		"{device}", t.Device,
		"{root}", root,
		"{path}", keypath.Escape(rel),
		"{name}", keypath.Escape(path.Base(rel)),
		"{year}", fmt.Sprintf("%04d", taken.Year()),
		"{month}", fmt.Sprintf("%02d", int(taken.Month())),
		"{day}", fmt.Sprintf("%02d", taken.Day()),
	).Replace(t.Template)
}

// Dated reports whether keys depend on the capture time.
func (t KeyTemplate) Dated() bool {
	return strings.Contains(t.Template, "{year}") || strings.Contains(t.Template, "{month}") ||
		strings.Contains(t.Template, "{day}")
}

// PathKey is the key of rel inside root when the template does not depend
// on the capture time, and "" when it does: the key a file at that place
// has, unless it had to take a suffix.
func (t KeyTemplate) PathKey(root, rel string) string {
	if t.Dated() {
		return ""
	}
	return t.Key(root, rel, time.Time{})
}

// perFile are the placeholders that differ from file to file.
var perFile = []string{"{root}", "{path}", "{name}", "{year}", "{month}", "{day}"}

// Prefix returns the part of every key that comes before the first
// per-file placeholder, e.g. "alice/laptop/". Incomplete uploads under it
// belong to this device.
func (t KeyTemplate) Prefix() string { return t.prefixBefore(perFile...) }

// DeviceScoped reports whether Prefix names this device: {device} comes
// before every per-file placeholder. Without it (`{user}/{year}/{name}`),
// the prefix is shared with the account's other devices.
func (t KeyTemplate) DeviceScoped() bool {
	d := strings.Index(t.Template, "{device}")
	if d < 0 {
		return false
	}
	for _, p := range perFile {
		if j := strings.Index(t.Template, p); j >= 0 && j < d {
			return false
		}
	}
	return true
}

// UserPrefix returns the part of every key before the device, e.g.
// "alice/": where all of one person's devices store their files.
func (t KeyTemplate) UserPrefix() string {
	return t.prefixBefore(append([]string{"{device}"}, perFile...)...)
}

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
