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

// Different names never share a key, and every name that was already
// valid UTF-8 without '%' keeps the key it always had.
func TestKeyTemplate_Key_Injective(t *testing.T) {
	k := KeyTemplate{Template: "{user}/{device}/{root}/{path}", User: "alice", Device: "laptop"}
	for _, tc := range []struct{ a, b string }{
		{"%FFbad.jpg", "\xffbad.jpg"},
		{"%25.jpg", "%.jpg"},
		{"caf%E9.jpg", "caf\xe9.jpg"},
		{"%FF\xff.jpg", "\xff%FF.jpg"},
	} {
		if ka, kb := k.Key("p", tc.a), k.Key("p", tc.b); ka == kb {
			t.Errorf("%q and %q: both got key %q, want different keys", tc.a, tc.b, ka)
		}
	}
}

func TestKeyTemplate_Key_Escape(t *testing.T) {
	k := KeyTemplate{Template: "{path}"}
	for _, tc := range []struct{ name, rel, want string }{
		// Stable: valid UTF-8 without '%' is its own key.
		{"ascii", "2024/IMG_1.jpg", "2024/IMG_1.jpg"},
		{"utf8", "été/café ☕.jpg", "été/café ☕.jpg"},
		{"space and plus", "a b+c.jpg", "a b+c.jpg"},
		{"empty", "", ""},
		// Stable: invalid bytes as before.
		{"invalid byte", "caf\xe9.jpg", "caf%E9.jpg"},
		{"two invalid bytes", "\xff\xfe.jpg", "%FF%FE.jpg"},
		// '%' itself is escaped.
		{"percent", "50%.jpg", "50%25.jpg"},
		{"percent hex", "%FFbad.jpg", "%25FFbad.jpg"},
		{"percent and invalid", "%\xff.jpg", "%25%FF.jpg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := k.Key("p", tc.rel); got != tc.want {
				t.Errorf("Key(%q) = %q, want %q", tc.rel, got, tc.want)
			}
		})
	}
}
