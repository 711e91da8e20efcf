package cli

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/restore"
)

func TestIntoRoots(t *testing.T) {
	kt := agent.KeyTemplate{Template: "{user}/{device}/{root}/{path}", User: "alice", Device: "laptop"}
	items := []restore.Item{
		{Key: "alice/laptop/pictures/2024/a.jpg"},
		{Key: "alice/laptop/pictures/50%25/b.jpg"},
		{Key: "alice/laptop/pictures/../../../etc/c.jpg"},
		{Key: "alice/laptop/camera/d.jpg"},
		{Key: "alice/laptop/camera/e.jpg"},
		{Key: "alice/phone/pictures/f.jpg"},
		{Key: "alice/old-layout.jpg", Device: "laptop"},
		{Key: "alice/phone-old-layout.jpg", Device: "phone"},
		{Key: "alice/laptop/pictures/new\nline.jpg"},
	}
	roots := []agent.Root{{Name: "pictures", Path: "/home/a/Pictures"}, {Name: "music", Path: "/home/a/Music"}}
	got, left := intoRoots(items, kt.Parser(), "laptop", roots)
	want := []string{"/home/a/Pictures/2024/a.jpg", "/home/a/Pictures/50%/b.jpg", "/home/a/Pictures/etc/c.jpg", "/home/a/Pictures/new\nline.jpg"}
	if len(got) != len(want) {
		t.Fatalf("placed %d items, want %d: %+v", len(got), len(want), got)
	}
	for i, it := range got {
		if it.Target != filepath.FromSlash(want[i]) {
			t.Errorf("%s: target %s, want %s", it.Key, it.Target, want[i])
		}
	}
	if left.byRoot["camera"] != 2 || len(left.byRoot) != 1 || len(left.foreign) != 1 || left.foreign[0] != "alice/old-layout.jpg" || left.files() != 3 {
		t.Errorf("left out: got %+v, want 2 of camera and 1 foreign", left)
	}
	if got, _ := intoRoots(items, kt.Parser(), "phone", roots); len(got) != 1 || got[0].Target != filepath.FromSlash("/home/a/Pictures/f.jpg") {
		t.Errorf("--device phone: got %+v, want f.jpg into the laptop's pictures", got)
	}
}

// --to-roots needs keys that tell each file's folder.
func TestToRootsKeys(t *testing.T) {
	for template, want := range map[string]string{
		"{user}/{device}/{root}/{path}":        "",
		"{user}/{device}/{path}":               `--to-roots needs {root} in storage.key_template ("{user}/{device}/{path}") to know each file's folder`,
		"{user}/{device}/{root}/{year}/{name}": `--to-roots needs {path} in storage.key_template ("{user}/{device}/{root}/{year}/{name}") to know each file's folder; restore into a folder instead: cloudkeep restore DEST`,
		"{user}/{device}/{root}/{year}/{path}": "",
	} {
		cfg := &config.Agent{}
		cfg.Storage.KeyTemplate = template
		err := toRootsKeys(cfg, restoreTo{toRoots: true})
		if got := fmt.Sprint(err); (want == "" && err != nil) || (want != "" && got != want) {
			t.Errorf("%s: got %v, want %q", template, err, want)
		}
		if err := toRootsKeys(cfg, restoreTo{dest: "/tmp/x"}); err != nil {
			t.Errorf("%s into a folder: got %v", template, err)
		}
	}
}
