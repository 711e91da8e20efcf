package keypath

import "testing"

func TestUnescape(t *testing.T) {
	for _, tc := range []struct{ name, key, want string }{
		{"plain", "2024/IMG_1.jpg", "2024/IMG_1.jpg"},
		{"invalid byte", "caf%E9.jpg", "caf\xe9.jpg"},
		// Keys Escape cannot write are their own paths.
		{"lower-case hex", "caf%e9.jpg", "caf%e9.jpg"},
		{"escaped slash", "a%2Fb.jpg", "a%2Fb.jpg"},
		{"escaped dots", "%2E%2E/x.jpg", "%2E%2E/x.jpg"},
		{"escaped slash at end", "x%2F.jpg", "x%2F.jpg"},
		{"escaped letter", "%41.jpg", "%41.jpg"},
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
	for _, s := range []string{"", "a.jpg", "%FFbad.jpg", "\xffbad.jpg", "50%.jpg", "caf\xe9", "a%2Fb", "%2E%2E", "%e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, ok := Decode(Escape(s)); got != s || !ok {
			t.Errorf("Decode(Escape(%q)) = %q, %v", s, got, ok)
		}
		// Any key decodes to a path whose key it is, or is refused and
		// taken literally.
		if p, ok := Decode(s); ok && Escape(p) != s || !ok && p != s {
			t.Errorf("Decode(%q) = %q, %v", s, p, ok)
		}
	})
}

// Only the keys Escape writes decode: every other one is refused.
func TestDecode_RefusesNonCanonical(t *testing.T) {
	for _, key := range []string{"a%2Fb.jpg", "%2E%2E", "x%2F.jpg", "caf%e9.jpg", "%41", "50%.jpg", "%C3%A9.jpg"} {
		if p, ok := Decode(key); ok || p != key {
			t.Errorf("Decode(%q) = %q, %v, want %q, false", key, p, ok, key)
		}
	}
	for key, want := range map[string]string{"caf%E9.jpg": "caf\xe9.jpg", "50%25.jpg": "50%.jpg", "a/b.jpg": "a/b.jpg"} {
		if p, ok := Decode(key); !ok || p != want {
			t.Errorf("Decode(%q) = %q, %v, want %q, true", key, p, ok, want)
		}
	}
}
