package manifest_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/manifest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ns(d time.Duration) int64 { return t0.Add(d).UnixNano() }

// A key is live at the instants of its spans, [from, to), and now only
// while its last span is open.
func TestEntry_Live(t *testing.T) {
	e := manifest.Entry{Key: "alice/laptop/pictures/a.jpg", Live: []manifest.Span{{From: ns(0), To: ns(time.Hour)}, {From: ns(3 * time.Hour)}}}
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{{-time.Nanosecond, false}, {0, true}, {time.Hour - 1, true}, {time.Hour, false}, {2 * time.Hour, false}, {3 * time.Hour, true}, {1000 * time.Hour, true}} {
		if got := e.LiveAt(t0.Add(tc.at)); got != tc.want {
			t.Errorf("live at %s: got %v, want %v", tc.at, got, tc.want)
		}
	}
	if !e.LiveNow() || !e.Ended().IsZero() {
		t.Errorf("open span: LiveNow %v, Ended %v; want live, not ended", e.LiveNow(), e.Ended())
	}
	e.Live[1].To = ns(4 * time.Hour)
	if e.LiveNow() || !e.Ended().Equal(t0.Add(4*time.Hour)) {
		t.Errorf("closed: LiveNow %v, Ended %v; want ended at +4h", e.LiveNow(), e.Ended())
	}
}

// What Encode writes, Decode reads back the same, sorted by key; a newer
// format is refused with the way out.
func TestEncodeDecode(t *testing.T) {
	m := &manifest.Manifest{Device: "laptop", Written: t0, Keys: []manifest.Entry{
		{Key: "alice/laptop/pictures/b.jpg", Size: 2, SHA256: "bb", Live: []manifest.Span{{From: 1, To: 2}}},
		{Key: "alice/laptop/pictures/a.jpg", Size: 1, SHA256: "aa", Live: []manifest.Span{{From: 5}}},
	}}
	var buf bytes.Buffer
	if err := manifest.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	got, err := manifest.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) || got.Keys[0].Key != "alice/laptop/pictures/a.jpg" || got.Version != manifest.Version {
		t.Errorf("got %+v\nwant %+v", got, m)
	}
	if e, ok := got.Find("alice/laptop/pictures/b.jpg"); !ok || e.Size != 2 {
		t.Errorf("Find b.jpg: %+v %v", e, ok)
	}
	buf.Reset()
	if err := manifest.Encode(&buf, &manifest.Manifest{Version: manifest.Version + 1, Device: "phone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.Decode(&buf); err == nil || err.Error() != "manifest of phone has format 2, newer than this cloudkeep reads (1): upgrade cloudkeep" || !manifest.IsNewer(err) {
		t.Errorf("newer format: got %v", err)
	}
	if _, err := manifest.Decode(bytes.NewReader([]byte("{}"))); err == nil {
		t.Errorf("not gzip: got no error")
	}
}

func TestKey(t *testing.T) {
	k := manifest.Key("alice/", "laptop")
	if k != "alice/.cloudkeep/manifests/laptop.json.gz" {
		t.Errorf("key %q", k)
	}
	if d, ok := manifest.DeviceOf(k); !ok || d != "laptop" {
		t.Errorf("DeviceOf(%q) = %q, %v", k, d, ok)
	}
	if _, ok := manifest.DeviceOf("alice/.cloudkeep/manifests/x/y.json.gz"); ok {
		t.Errorf("a key in a subfolder is not a manifest")
	}
}

// The state at an instant: a key live then in any device's manifest; a
// key its device's manifest does not know, when stored after the manifest
// was written (and not after the instant); everything of a device without
// a manifest, which is said.
func TestSet_Holds(t *testing.T) {
	// Keys sorted, as Decode leaves them.
	laptop := &manifest.Manifest{Device: "laptop", Written: t0.Add(10 * time.Hour), Keys: []manifest.Entry{
		{Key: "k/new.jpg", Live: []manifest.Span{{From: ns(5 * time.Hour)}}},
		{Key: "k/old.jpg", Live: []manifest.Span{{From: ns(0), To: ns(5 * time.Hour)}}},
		{Key: "k/shared.jpg", Live: []manifest.Span{{From: ns(0), To: ns(time.Hour)}}},
	}}
	phone := &manifest.Manifest{Device: "phone", Written: t0, Keys: []manifest.Entry{
		{Key: "k/shared.jpg", Live: []manifest.Span{{From: ns(0)}}},
	}}
	set := manifest.Set{"laptop": laptop, "phone": phone}
	for _, tc := range []struct {
		key, device string
		stored, at  time.Duration // at < 0: now
		held, known bool
	}{
		{"k/old.jpg", "laptop", 0, -1, false, true},
		{"k/old.jpg", "laptop", 0, 4 * time.Hour, true, true},
		{"k/new.jpg", "laptop", 0, -1, true, true},
		{"k/new.jpg", "laptop", 0, 4 * time.Hour, false, true},
		{"k/shared.jpg", "laptop", 0, -1, true, true}, // the phone holds it
		{"k/unknown.jpg", "laptop", 11 * time.Hour, -1, true, true},
		{"k/unknown.jpg", "laptop", 11 * time.Hour, 10*time.Hour + 30*time.Minute, false, true},
		{"k/unknown.jpg", "laptop", 9 * time.Hour, -1, false, true},
		{"k/tablet.jpg", "tablet", 0, -1, true, false},
	} {
		var at time.Time
		if tc.at >= 0 {
			at = t0.Add(tc.at)
		}
		held, known := set.Holds(tc.key, tc.device, t0.Add(tc.stored), at)
		if held != tc.held || known != tc.known {
			t.Errorf("%s of %s stored +%s at %v: got held %v known %v, want %v %v", tc.key, tc.device, tc.stored, tc.at, held, known, tc.held, tc.known)
		}
	}
	if !set.LiveElsewhere("k/shared.jpg", "laptop") || set.LiveElsewhere("k/shared.jpg", "phone") {
		t.Errorf("LiveElsewhere: the phone holds shared.jpg, the laptop no longer does")
	}
}

// A date is the end of that local day; an RFC 3339 time is that instant.
func TestParseAsOf(t *testing.T) {
	old := time.Local
	time.Local = time.FixedZone("here", 2*3600)
	t.Cleanup(func() { time.Local = old })
	at, err := manifest.ParseAsOf("2026-03-01")
	if want := time.Date(2026, 3, 1, 23, 59, 59, 999999999, time.Local); err != nil || !at.Equal(want) {
		t.Errorf("date: got %v %v, want %v", at, err, want)
	}
	at, err = manifest.ParseAsOf("2026-03-01T10:00:00Z")
	if err != nil || !at.Equal(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("RFC 3339: got %v %v", at, err)
	}
	if _, err := manifest.ParseAsOf("yesterday"); err == nil {
		t.Errorf("yesterday: got no error")
	}
}

// 100,000 keys: a few MB compressed, written and read in well under a
// second or two.
func TestManifest_100000Keys(t *testing.T) {
	m := &manifest.Manifest{Device: "laptop", Written: t0}
	for i := range 100_000 {
		sum := sha256.Sum256(fmt.Appendf(nil, "%d", i))
		e := manifest.Entry{Key: fmt.Sprintf("alice/laptop/pictures/%04d/%02d/IMG_%06d.HEIC", 2000+i/5000, i%12+1, i),
			Size: int64(1_000_000 + i*37), SHA256: hex.EncodeToString(sum[:]), Live: []manifest.Span{{From: ns(time.Duration(i) * time.Second)}}}
		if i%10 == 0 {
			e.Live[0].To = ns(time.Duration(i)*time.Second + time.Hour)
		}
		m.Keys = append(m.Keys, e)
	}
	start := time.Now()
	var buf bytes.Buffer
	if err := manifest.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	encoded := time.Since(start)
	size := buf.Len()
	start = time.Now()
	got, err := manifest.Decode(&buf)
	if err != nil || len(got.Keys) != 100_000 {
		t.Fatalf("decode: %d keys, %v", len(got.Keys), err)
	}
	t.Logf("100,000 keys: %.2f MB compressed, encode %s, decode %s", float64(size)/1e6, encoded.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if size > 8<<20 {
		t.Errorf("%d bytes compressed: want a few MB", size)
	}
}

// A manifest that decompresses beyond MaxSize is refused, not read into
// memory.
func TestDecodeBounded(t *testing.T) {
	defer manifest.SetMaxSize(2 << 20)()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"version":1,"device":"laptop","keys":[{"k":"`))
	zw.Write(bytes.Repeat([]byte("a"), 2<<20))
	zw.Write([]byte(`","s":1,"l":[]}]}`))
	zw.Close()
	_, err := manifest.Decode(&buf)
	if err == nil || err.Error() != "manifest: larger than 2 MiB decompressed" || manifest.IsNewer(err) {
		t.Errorf("got %v", err)
	}
}
