package agent

import "testing"

func TestKeyTemplate(t *testing.T) {
	for _, tc := range []struct {
		tmpl, root, rel, key, prefix string
	}{
		{"{user}/{device}/{root}/{path}", "pictures", "2024/IMG_1.jpg", "alice/laptop/pictures/2024/IMG_1.jpg", "alice/laptop/"},
		{"backups/{user}/{path}", "pictures", "a.jpg", "backups/alice/a.jpg", "backups/alice/"},
		{"{root}/{path}", "pictures", "a.jpg", "pictures/a.jpg", ""},
		{"{user}-{device}/{path}", "p", "caf\xe9.jpg", "alice-laptop/caf%E9.jpg", "alice-laptop/"},
	} {
		k := KeyTemplate{Template: tc.tmpl, User: "alice", Device: "laptop"}
		if got := k.Key(tc.root, tc.rel); got != tc.key {
			t.Errorf("%s: Key = %q, want %q", tc.tmpl, got, tc.key)
		}
		if got := k.Prefix(); got != tc.prefix {
			t.Errorf("%s: Prefix = %q, want %q", tc.tmpl, got, tc.prefix)
		}
	}
}
