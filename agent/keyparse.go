package agent

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/keypath"
)

// Place is where the file of a key was: its device, the name of its root
// and its slash-separated path inside the root. Device or Root is empty
// when the key template does not hold it.
type Place struct {
	Device, Root, Path string
}

// KeyParser reads places back from the keys of a template.
type KeyParser struct {
	t  KeyTemplate
	re *regexp.Regexp
}

// Parser returns the parser of t's keys.
func (t KeyTemplate) Parser() KeyParser { return KeyParser{t, t.pattern()} }

// Parse returns the place of key, a key made by the template for its user
// with any device, root name and date, and reports false when key is not
// such a key. It is the inverse of Key: the template with Device set to
// p.Device gives Key(p.Root, p.Path, taken) == key for the date the key
// holds. A template without {path} cannot give the folder back: Path is
// then the file's name ({name}), with the suffix a key may carry
// (Suffixed).
func (kp KeyParser) Parse(key string) (Place, bool) {
	m := kp.re.FindStringSubmatch(key)
	if m == nil {
		return Place{}, false
	}
	var p Place
	date := [3]int{1, 1, 1} // year, month, day
	for i, name := range kp.re.SubexpNames() {
		switch name {
		case "device":
			p.Device = m[i]
		case "root":
			p.Root = m[i]
		case "path":
			p.Path = keypath.Unescape(m[i])
		case "name":
			if p.Path == "" {
				p.Path = keypath.Unescape(m[i])
			}
		case "year", "month", "day":
			date[strings.Index("ymd", name[:1])], _ = strconv.Atoi(m[i])
		}
	}
	back := kp.t
	back.Device = p.Device
	taken := time.Date(date[0], time.Month(date[1]), date[2], 0, 0, 0, 0, time.UTC)
	if back.Key(p.Root, p.Path, taken) != key { // a repeated placeholder must agree, a date be a date
		return Place{}, false
	}
	return p, true
}

// pattern matches the keys of the template: device and root names hold
// no '/' (config refuses them), a name no '/' either, a path anything.
func (t KeyTemplate) pattern() *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	seen := map[string]bool{}
	rest := t.Template
	for rest != "" {
		i := strings.Index(rest, "{")
		j := strings.Index(rest, "}")
		if i < 0 || j < i {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		b.WriteString(regexp.QuoteMeta(rest[:i]))
		name := rest[i+1 : j]
		switch {
		case name == "user":
			b.WriteString(regexp.QuoteMeta(t.user()))
		case seen[name]:
			b.WriteString(`[^/]+`) // no back-references in Go: Parse checks it agrees
		case name == "device" || name == "root":
			b.WriteString(`(?P<` + name + `>[^/]+)`)
		case name == "path":
			b.WriteString(`(?P<path>(?s:.+))`) // any byte, a newline too
		case name == "name":
			b.WriteString(`(?P<name>(?s:[^/]+))`)
		case name == "year":
			b.WriteString(`(?P<year>[0-9]{4})`)
		case name == "month" || name == "day":
			b.WriteString(`(?P<` + name + `>[0-9]{2})`)
		default:
			b.WriteString(regexp.QuoteMeta(rest[i : j+1]))
		}
		seen[name] = true
		rest = rest[j+1:]
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
