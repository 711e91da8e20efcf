package servicetmpl_test

import (
	"testing"

	"github.com/cloudkeep/cloudkeep/internal/servicetmpl"
)

// The engine is kardianos/service's: its range and pipeline syntax work.
func TestRender(t *testing.T) {
	got, err := servicetmpl.Render("{{Name | html}}:{{range Arguments}} {{.}}{{end}}",
		map[string]any{"Name": "a&b", "Arguments": []string{"x", "y z"}}, servicetmpl.LaunchdFuncs)
	if want := "a&amp;b: x y z"; err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}
