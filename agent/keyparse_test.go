package agent_test

import (
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
)

func TestKeyParser_Parse(t *testing.T) {
	for _, tc := range []struct {
		template, key string
		want          agent.Place
		ok            bool
	}{
		{"{user}/{device}/{root}/{path}", "alice/laptop/pictures/2024/IMG_1.jpg", agent.Place{"laptop", "pictures", "2024/IMG_1.jpg"}, true},
		{"{user}/{device}/{root}/{path}", "alice/phone/camera/%25FFbad.jpg", agent.Place{"phone", "camera", "%FFbad.jpg"}, true},
		{"{user}/{device}/{root}/{path}", "alice/phone/camera/%FFbad.jpg", agent.Place{"phone", "camera", "\xffbad.jpg"}, true},
		{"{user}/{device}/{root}/{path}", "bob/laptop/pictures/a.jpg", agent.Place{}, false},
		{"{user}/{device}/{root}/{path}", "alice/laptop/a.jpg", agent.Place{}, false},
		{"{user}/{root}/{path}", "alice/pictures/a/b.jpg", agent.Place{"", "pictures", "a/b.jpg"}, true},
		{"backup/{user}/{device}-{root}/{path}", "backup/alice/laptop-pictures/a.jpg", agent.Place{"laptop", "pictures", "a.jpg"}, true},
		{"{user}/{device}/{root}/{device}/{path}", "alice/laptop/pictures/laptop/a.jpg", agent.Place{"laptop", "pictures", "a.jpg"}, true},
		{"{user}/{device}/{root}/{device}/{path}", "alice/laptop/pictures/phone/a.jpg", agent.Place{}, false},
		{"{user}/a.b/{path}", "alice/aXb/c.jpg", agent.Place{}, false},
	} {
		kt := agent.KeyTemplate{Template: tc.template, User: "alice", Device: "laptop"}
		got, ok := kt.Parser().Parse(tc.key)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: Parse(%q) = %+v, %v, want %+v, %v", tc.template, tc.key, got, ok, tc.want, tc.ok)
		}
		if ok && tc.want.Device == "laptop" {
			if back := kt.Key(got.Root, got.Path, time.Time{}); back != tc.key {
				t.Errorf("%s: Key(%q, %q) = %q, want %q", tc.template, got.Root, got.Path, back, tc.key)
			}
		}
	}
}

// A date template cannot give the folder back: the name is the path, and
// the device and root come back when the template holds them.
func TestKeyParser_Parse_Dated(t *testing.T) {
	taken := time.Date(2024, 1, 31, 14, 5, 0, 0, time.FixedZone("", 9*3600))
	for _, tc := range []struct {
		template, key string
		want          agent.Place
		ok            bool
	}{
		{"{user}/{year}/{month}/{name}", "alice/2024/01/IMG_0001.JPG", agent.Place{"", "", "IMG_0001.JPG"}, true},
		{"{user}/{year}/{month}/{name}", "alice/2024/01/IMG_0001~1f2e3d4c.JPG", agent.Place{"", "", "IMG_0001~1f2e3d4c.JPG"}, true},
		{"{user}/{device}/{root}/{year}/{month}/{day}/{name}", "alice/phone/camera/2024/01/31/a%25.jpg", agent.Place{"phone", "camera", "a%.jpg"}, true},
		{"{user}/{year}/{month}/{path}", "alice/2024/01/trip/a.jpg", agent.Place{"", "", "trip/a.jpg"}, true},
		{"{user}/{year}/{month}/{name}", "alice/2024/13/a.jpg", agent.Place{}, false},
		{"{user}/{year}/{month}/{day}/{name}", "alice/2024/02/31/a.jpg", agent.Place{}, false},
		{"{user}/{year}/{month}/{name}", "alice/2024/01/trip/a.jpg", agent.Place{}, false},
		{"{user}/{year}/{month}/{name}", "alice/24/01/a.jpg", agent.Place{}, false},
	} {
		kt := agent.KeyTemplate{Template: tc.template, User: "alice", Device: "phone"}
		got, ok := kt.Parser().Parse(tc.key)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: Parse(%q) = %+v, %v, want %+v, %v", tc.template, tc.key, got, ok, tc.want, tc.ok)
		}
	}
	kt := agent.KeyTemplate{Template: "{user}/{device}/{root}/{year}/{month}/{day}/{name}", User: "alice", Device: "phone"}
	key := kt.Key("camera", "DCIM/IMG_1.JPG", taken)
	if got, ok := kt.Parser().Parse(key); !ok || got != (agent.Place{"phone", "camera", "IMG_1.JPG"}) {
		t.Errorf("Parse(Key(...)) = %+v, %v, want the place back", got, ok)
	}
}
