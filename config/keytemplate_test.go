package config_test

import (
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/config"
)

// Key templates whose keys no object store takes, or that restore cannot
// name files from, are refused when the config is loaded, not by every
// upload later.
func TestLoad_KeyTemplateShape(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct{ template, want string }{
		{"{user}/../{name}",
			`12: storage.key_template: "{user}/../{name}" has a ".." part: object stores refuse keys with "." or ".." parts; remove it`},
		{"{user}/./{path}",
			`12: storage.key_template: "{user}/./{path}" has a "." part: object stores refuse keys with "." or ".." parts; remove it`},
		{"{user}/{name}/..",
			`12: storage.key_template: "{user}/{name}/.." has a ".." part: object stores refuse keys with "." or ".." parts; remove it`},
		{"{user}//{name}",
			`12: storage.key_template: "{user}//{name}" has an empty part ("//"): object stores refuse keys with empty parts; write a single '/'`},
		{"{user}/{name}/",
			`12: storage.key_template: "{user}/{name}/" must not end with '/': the last part of a key names the file; end the template with {name} or {path}`},
		{"{user}/{name}/{year}",
			`12: storage.key_template: "{user}/{name}/{year}" must have {name} in its last part (after the last '/'): restore names each file after the last part of its key, "{year}" here; e.g. "{user}/{year}/{month}/{name}"`},
		{"{user}/{name}/{month}-{day}",
			`12: storage.key_template: "{user}/{name}/{month}-{day}" must have {name} in its last part (after the last '/'): restore names each file after the last part of its key, "{month}-{day}" here; e.g. "{user}/{year}/{month}/{name}"`},
		{"{user}/{path}/{year}",
			`12: storage.key_template: "{user}/{path}/{year}" must end with {path}: {path} is the file's folders and name inside its root, so nothing may follow it; e.g. "{user}/{device}/{root}/{path}"`},
		{"{user}/{path}.bak",
			`12: storage.key_template: "{user}/{path}.bak" must end with {path}: {path} is the file's folders and name inside its root, so nothing may follow it; e.g. "{user}/{device}/{root}/{path}"`},
		{"{user}/{path}/{name}",
			`12: storage.key_template: "{user}/{path}/{name}" must end with {path}: {path} is the file's folders and name inside its root, so nothing may follow it; e.g. "{user}/{device}/{root}/{path}"`},
		{"/{user}/{path}",
			`12: storage.key_template: "/{user}/{path}" must not start with '/'`},
		{"{user}/{year}/{month}/{day}/{name}", ""},
		{"{user}/{year}-{month} {name}", ""},
		{"{user}/{device}/{root}/{path}", ""},
		{"backups/{user}/.photos/{root}/{path}", ""},
		{"{year}/{month}/{name}", ""}, // static mode needs no {user}
		{"{device}/{root}/{path}", ""},
	} {
		t.Run(tc.template, func(t *testing.T) {
			text := strings.Replace(valid, "  part_size: 16MiB", "  key_template: \""+tc.template+"\"\n  part_size: 16MiB", 1)
			path := write(t, text)
			c, err := config.Load(path)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tc.want != "" && (err == nil || err.Error() != path+":"+tc.want):
				t.Fatalf("got  %v\nwant %s", err, path+":"+tc.want)
			case tc.want != "":
				return
			}
			for _, w := range c.Warnings() {
				if strings.Contains(w.Error(), "key_template") {
					t.Errorf("warning %q, want none about the template", w)
				}
			}
		})
	}
}
