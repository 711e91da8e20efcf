package config_test

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/config"
	"go.yaml.in/yaml/v3"
)

// accountMode is a valid account-mode config; the tests change its template.
const accountMode = `device:
  name: laptop
account:
  url: https://accounts.example.com
storage:
  credentials:
    mode: account
  key_template: "{user}/{device}/{root}/{path}"
watch:
  - path: /srv/photos
`

// The account service lets a device write only under "<account>/", so an
// account-mode template must start with {user}/.
func TestLoad_AccountKeyTemplate(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct{ template, want string }{
		{"{user}/{device}/{root}/{path}", ""},
		{"{user}/{path}", ""},
		{"{device}/{root}/{path}",
			`8: storage.key_template: "{device}/{root}/{path}" must start with {user}/ in account mode: the account service lets a device write only under its account's folder`},
		{"{device}/{user}/{path}",
			`8: storage.key_template: "{device}/{user}/{path}" must start with {user}/ in account mode: the account service lets a device write only under its account's folder`},
	} {
		t.Run(tc.template, func(t *testing.T) {
			text := strings.Replace(accountMode, config.DefaultKeyTemplate, tc.template, 1)
			path := write(t, text)
			_, err := config.Load(path)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || err.Error() != path+":"+tc.want):
				t.Errorf("got  %v\nwant %s", err, path+":"+tc.want)
			}
		})
	}
}

// A system service runs without HOME: "~" comes from the passwd entry.
func TestLoad_TildeWithoutHOME(t *testing.T) {
	clearEnv(t)
	u, err := user.Current()
	if err != nil || u.HomeDir == "" {
		t.Skipf("no passwd entry for the current user: %v", err)
	}
	t.Setenv("HOME", "")
	os.Unsetenv("HOME")
	text := strings.Replace(valid, "path: /srv/photos", "path: ~/Pictures", 1)
	c, err := config.Load(write(t, text))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Watch[0].Path, filepath.Join(u.HomeDir, "Pictures"); got != want {
		t.Errorf("watch[0].path: got %q, want %q", got, want)
	}
}

// `config init` writes the example; its values must be the defaults the
// README's configuration table documents.
func TestExample_MatchesREADMEDefaults(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Skipf("README: %v", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(config.Example, &doc); err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_.]+)` \\| `([^`|]*)` \\|")
	checked := 0
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		key, def := m[1], m[2]
		if strings.HasPrefix(def, "$") {
			continue // taken from the environment
		}
		got, ok := lookup(doc, key)
		if !ok {
			continue
		}
		checked++
		if got != def {
			t.Errorf("example.yaml sets %s: %s; the README documents the default %s", key, got, def)
		}
	}
	if checked == 0 {
		t.Error("no README default matched a key of example.yaml")
	}
}

func lookup(doc map[string]any, key string) (string, bool) {
	var cur any = doc
	for part := range strings.SplitSeq(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[part]; !ok {
			return "", false
		}
	}
	switch v := cur.(type) {
	case []any:
		items := make([]string, len(v))
		for i, x := range v {
			items[i] = fmt.Sprint(x)
		}
		return "[" + strings.Join(items, ", ") + "]", true
	case map[string]any:
		return "", false
	default:
		return fmt.Sprint(v), true
	}
}
