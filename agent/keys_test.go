package agent

import (
	"testing"
	"time"
)

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
		if got := k.Key(tc.root, tc.rel, time.Time{}); got != tc.key {
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
		if ka, kb := k.Key("p", tc.a, time.Time{}), k.Key("p", tc.b, time.Time{}); ka == kb {
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
			if got := k.Key("p", tc.rel, time.Time{}); got != tc.want {
				t.Errorf("Key(%q) = %q, want %q", tc.rel, got, tc.want)
			}
		})
	}
}

// {year}, {month} and {day} are the wall clock of the capture time as it
// was taken (its own offset), not this machine's; {name} is the escaped
// base name.
func TestKeyTemplate_Key_Dated(t *testing.T) {
	tokyo := time.FixedZone("", 9*3600)
	k := KeyTemplate{Template: "{user}/{year}/{month}/{day}/{name}", User: "alice", Device: "laptop"}
	for _, tc := range []struct {
		rel   string
		taken time.Time
		want  string
	}{
		{"DCIM/IMG_0001.JPG", time.Date(2024, 1, 1, 0, 30, 0, 0, tokyo), "alice/2024/01/01/IMG_0001.JPG"}, // 2023-12-31 in UTC
		{"a/b/50%.jpg", time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC), "alice/2024/12/31/50%25.jpg"},
		{"caf\xe9.jpg", time.Date(987, 3, 4, 0, 0, 0, 0, time.UTC), "alice/0987/03/04/caf%E9.jpg"},
	} {
		if got := k.Key("pictures", tc.rel, tc.taken); got != tc.want {
			t.Errorf("Key(%q, %v) = %q, want %q", tc.rel, tc.taken, got, tc.want)
		}
	}
	if !k.Dated() || k.PathKey("pictures", "a.jpg") != "" {
		t.Errorf("Dated() = %v, PathKey = %q; want true, \"\"", k.Dated(), k.PathKey("pictures", "a.jpg"))
	}
	if got := k.Prefix(); got != "alice/" {
		t.Errorf("Prefix = %q, want alice/", got)
	}
	if got := (KeyTemplate{Template: "{user}/{device}/{year}/{name}", User: "alice", Device: "laptop"}).Prefix(); got != "alice/laptop/" {
		t.Errorf("Prefix = %q, want alice/laptop/", got)
	}
}

func TestKeyTemplate_DeviceScoped(t *testing.T) {
	for tmpl, want := range map[string]bool{
		"{user}/{device}/{root}/{path}":  true,
		"{user}/{device}/{year}/{name}":  true,
		"{device}-{user}/{path}":         true,
		"{user}/{year}/{month}/{name}":   false,
		"{user}/{path}":                  false,
		"{user}/{root}/{device}/{path}":  false,
		"photos/{user}/{year}/{device}/": false,
	} {
		if got := (KeyTemplate{Template: tmpl, User: "alice", Device: "laptop"}).DeviceScoped(); got != want {
			t.Errorf("%s: DeviceScoped %v, want %v", tmpl, got, want)
		}
	}
}
