package agent_test

import (
	"testing"

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
			if back := kt.Key(got.Root, got.Path); back != tc.key {
				t.Errorf("%s: Key(%q, %q) = %q, want %q", tc.template, got.Root, got.Path, back, tc.key)
			}
		}
	}
}
