package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem with the configuration, located in its file.
type Error struct {
	File string // the config file, or the environment variable that set the key
	Line int    // 0 when the key is absent from the file
	Key  string // the key path, e.g. "storage.part_size" or "watch[1].path"
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Key == "" {
		return loc + ": " + e.Msg
	}
	return loc + ": " + e.Key + ": " + e.Msg
}

// source remembers where each key came from, so that checks made after
// decoding can still name the line.
type source struct {
	file string
	at   map[string]origin
	zero map[string]bool // keys the file sets to a zero value, which defaults would hide
}

type origin struct {
	file string
	line int
}

func (s *source) errorf(key, format string, args ...any) *Error {
	o, ok := s.at[key]
	if !ok {
		o = origin{file: s.file}
	}
	return &Error{File: o.file, Line: o.line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// decoder maps a YAML node tree onto a struct by its yaml tags, collecting
// every error with its line and key path instead of stopping at the first.
type decoder struct {
	src  *source
	file string
	errs []error
}

func (d *decoder) fail(line int, key, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, key string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if key != "" {
		d.src.at[key] = origin{file: d.file, line: n.Line}
	}
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		if n.Kind != yaml.ScalarNode {
			d.fail(n.Line, key, "want a single value, got %s", describe(n))
		} else if err := u.UnmarshalYAML(n); err != nil {
			d.fail(n.Line, key, "%s", err)
		} else {
			d.noteZero(n, v, key)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, key)
	case reflect.Slice:
		d.decodeSlice(n, v, key)
	case reflect.Map:
		d.decodeMap(n, v, key)
	default:
		d.decodeScalar(n, v, key)
		d.noteZero(n, v, key)
	}
}

// noteZero remembers a key the file sets to zero ("0", "0s"), so that a
// minimum is checked against what was written, not the default it gets.
func (d *decoder) noteZero(n *yaml.Node, v reflect.Value, key string) {
	if key == "" || isNull(n) || !v.IsZero() {
		return
	}
	if d.src.zero == nil {
		d.src.zero = map[string]bool{}
	}
	d.src.zero[key] = true
}

// scalarForm is a struct that a single value may also write, e.g. an
// upload window given as "01:00-06:00" rather than {time: 01:00-06:00}.
type scalarForm interface{ fromScalar(string) }

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		return
	}
	if s, ok := v.Addr().Interface().(scalarForm); ok && n.Kind == yaml.ScalarNode {
		s.fromScalar(n.Value)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, key, "want a mapping of keys, got %s", describe(n))
		return
	}
	fields, names := yamlFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		path := joinKey(key, k.Value)
		if d.duplicate(seen, k, path) {
			continue
		}
		idx, ok := fields[k.Value]
		if why, gone := removedKeys[path]; !ok && gone {
			d.fail(k.Line, path, "no longer used: %s; remove it", why)
			continue
		}
		if !ok {
			d.fail(k.Line, path, "unknown key (known keys here: %s)", strings.Join(names, ", "))
			continue
		}
		d.decode(val, v.Field(idx), path)
	}
}

// duplicate reports whether mapping key k was already seen in its mapping,
// failing with both lines if so; otherwise it records k's line in seen.
// (yaml.v3 checks duplicates only when decoding into Go values, not into
// the node tree this decoder walks.)
func (d *decoder) duplicate(seen map[string]int, k *yaml.Node, path string) bool {
	if first, ok := seen[k.Value]; ok {
		d.fail(k.Line, path, "duplicate key: also set on line %d; keep one", first)
		return true
	}
	seen[k.Value] = k.Line
	return false
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, key, "want a list, got %s", describe(n))
		return
	}
	v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
	for i, c := range n.Content {
		d.decode(c, v.Index(i), fmt.Sprintf("%s[%d]", key, i))
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, key, "want a mapping, got %s", describe(n))
		return
	}
	v.Set(reflect.MakeMapWithSize(v.Type(), len(n.Content)/2))
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if d.duplicate(seen, k, joinKey(key, k.Value)) {
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, joinKey(key, k.Value))
		v.SetMapIndex(reflect.ValueOf(k.Value), elem)
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n.Line, key, "want a single value, got %s", describe(n))
		return
	}
	if isNull(n) {
		return
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		d.fail(n.Line, key, "want %s, got %q", kindName(v.Kind()), n.Value)
	}
}

// applyEnv overrides scalar keys from CLOUDKEEP_<KEY_PATH> variables, e.g.
// CLOUDKEEP_STORAGE_PART_SIZE for storage.part_size.
func (d *decoder) applyEnv(v reflect.Value, key string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, ok := yamlName(t.Field(i))
		if !ok {
			continue
		}
		path, fv := joinKey(key, name), v.Field(i)
		if fv.Kind() == reflect.Struct && !isUnmarshaler(fv) {
			d.applyEnv(fv, path)
			continue
		}
		if fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map {
			continue
		}
		env := "CLOUDKEEP_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
		val, set := os.LookupEnv(env)
		if !set {
			continue
		}
		sub := &decoder{src: d.src, file: "environment " + env}
		sub.decode(&yaml.Node{Kind: yaml.ScalarNode, Value: val}, fv, path)
		d.errs = append(d.errs, sub.errs...)
	}
}

func isUnmarshaler(v reflect.Value) bool {
	_, ok := v.Addr().Interface().(yaml.Unmarshaler)
	return ok
}

func yamlName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("yaml")
	if tag == "" || tag == "-" || !f.IsExported() {
		return "", false
	}
	return strings.Split(tag, ",")[0], true
}

func yamlFields(t reflect.Type) (map[string]int, []string) {
	idx := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if name, ok := yamlName(t.Field(i)); ok {
			idx[name] = i
			names = append(names, name)
		}
	}
	return idx, names
}

// removedKeys are keys of earlier versions, with why they went.
var removedKeys = map[string]string{
	"account.sts":      "devices get storage grants from the account service, which holds the storage keys",
	"account.role_arn": "devices get storage grants from the account service, which holds the storage keys",
}

func joinKey(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return strconv.Quote(n.Value)
	}
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	default:
		return "a string"
	}
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// syntaxError turns a YAML parser error into an *Error naming the line.
func syntaxError(file string, err error) error {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{File: file, Msg: err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + m[2]}
}
