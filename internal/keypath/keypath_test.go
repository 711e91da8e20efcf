package keypath

import "testing"

func TestUnescape(t *testing.T) {
	for _, tc := range []struct{ name, key, want string }{
		{"plain", "2024/IMG_1.jpg", "2024/IMG_1.jpg"},
		{"invalid byte", "caf%E9.jpg", "caf\xe9.jpg"},
		{"lower-case hex", "caf%e9.jpg", "caf\xe9.jpg"},
		{"percent", "50%25.jpg", "50%.jpg"},
		{"percent hex", "%25FFbad.jpg", "%FFbad.jpg"},
		{"raw byte", "%FFbad.jpg", "\xffbad.jpg"},
		// Keys written before '%' was escaped.
		{"old lone percent", "50%.jpg", "50%.jpg"},
		{"old percent at end", "a%", "a%"},
		{"old percent one hex", "a%F", "a%F"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Unescape(tc.key); got != tc.want {
				t.Errorf("Unescape(%q) = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
}

// Every path up to 5 bytes long over an alphabet of the troublesome bytes
// comes back from its key, and no two share one.
func TestEscape_RoundTrip(t *testing.T) {
	alphabet := []byte{'%', 'F', 'e', '2', '5', '/', 0xff, 0xc3, 0xa9}
	seen := map[string]string{}
	var walk func(p []byte)
	walk = func(p []byte) {
		s := string(p)
		k := Escape(s)
		if got := Unescape(k); got != s {
			t.Fatalf("Unescape(Escape(%q)) = %q, want %q (key %q)", s, got, s, k)
		}
		if other, ok := seen[k]; ok {
			t.Fatalf("%q and %q: both got key %q", other, s, k)
		}
		seen[k] = s
		if len(p) == 5 {
			return
		}
		for _, c := range alphabet {
			walk(append(p, c))
		}
	}
	walk(nil)
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a.jpg", "%FFbad.jpg", "\xffbad.jpg", "50%.jpg", "caf\xe9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := Unescape(Escape(s)); got != s {
			t.Errorf("Unescape(Escape(%q)) = %q", s, got)
		}
	})
}
