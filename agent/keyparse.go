package agent

import (
	"regexp"
	"strings"

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
// with any device and root name, and reports false when key is not such a
// key. It is the inverse of Key: the template with Device set to p.Device
// gives Key(p.Root, p.Path) == key.
func (kp KeyParser) Parse(key string) (Place, bool) {
	m := kp.re.FindStringSubmatch(key)
	if m == nil {
		return Place{}, false
	}
	var p Place
	for i, name := range kp.re.SubexpNames() {
		switch name {
		case "device":
			p.Device = m[i]
		case "root":
			p.Root = m[i]
		case "path":
			p.Path = keypath.Unescape(m[i])
		}
	}
	back := kp.t
	back.Device = p.Device
	if back.Key(p.Root, p.Path) != key { // a repeated placeholder must agree
		return Place{}, false
	}
	return p, true
}

// pattern matches the keys of the template: device and root names hold
// no '/' (config refuses them), a path anything.
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
		default:
			b.WriteString(regexp.QuoteMeta(rest[i : j+1]))
		}
		seen[name] = true
		rest = rest[j+1:]
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
