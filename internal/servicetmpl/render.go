// Package servicetmpl gives tests kardianos/service's own template engine,
// the one its Install renders service definitions with, so that cloudkeep's
// System V script and launchd plist are checked as they will be written on
// a system the test does not run on (macOS) or must not install to.
package servicetmpl

import (
	"html"
	_ "unsafe" // go:linkname

	_ "github.com/kardianos/service" // the engine's package must be linked in
)

// Func is a template pipeline function, as kardianos/service defines them.
type Func = func(string) (string, error)

// Render renders text with data and funcs through kardianos/service's
// engine (its unexported renderTemplate, reached by go:linkname).
func Render(text string, data map[string]any, funcs map[string]Func) (string, error) {
	return renderTemplate(text, data, funcs)
}

// LaunchdFuncs are the functions kardianos/service gives launchd templates
// (service_darwin.go): html escapes a value for XML, as text/template's did.
var LaunchdFuncs = map[string]Func{
	"html": func(s string) (string, error) { return html.EscapeString(s), nil },
}

//go:linkname renderTemplate github.com/kardianos/service.renderTemplate
func renderTemplate(text string, data map[string]any, funcs map[string]Func) (string, error)
