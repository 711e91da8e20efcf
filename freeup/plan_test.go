package freeup

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
)

func local(path string, state journal.State, capture, mtime time.Time) journal.Local {
	return journal.Local{File: journal.File{Path: path, State: state, Identity: journal.Identity{Size: 1, MTime: mtime}}, Capture: capture}
}

// Scope: the folder asked for, and the age of a group's newest file, by
// capture time or, when unknown, mtime. Files not stored carry their
// reason already.
func TestInScope(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	old, recent := now.AddDate(-1, 0, 0), now.AddDate(0, 0, -10)
	rows := []journal.Local{
		local("2024/IMG_1.HEIC", journal.Done, old, recent),
		local("2024/IMG_1.MOV", journal.Pending, time.Time{}, old),
		local("2024/IMG_2.HEIC", journal.Done, old, old),
		local("2024/IMG_2.MOV", journal.Done, recent, old), // the group's newest is recent
		local("2024/mtime-only.jpg", journal.Done, time.Time{}, old),
		local("2024/sub/IMG_1.JPG", journal.Skipped, old, old), // another folder: another group
		local("other/x.jpg", journal.Done, old, old),
	}
	sc := Scope{OlderThan: 90 * 24 * time.Hour, Now: now, Dir: "2024"}
	groups, young := inScope(Root{Name: "pictures", Path: "/p"}, rows, sc)
	if young != 2 {
		t.Errorf("too young: %d, want 2 (IMG_2's pair)", young)
	}
	var got [][]string
	for _, g := range groups {
		var names []string
		for _, it := range g {
			names = append(names, it.Path+":"+string(it.Reason))
		}
		got = append(got, names)
	}
	want := [][]string{
		{"2024/IMG_1.HEIC:", "2024/IMG_1.MOV:" + string(NotBackedUp)},
		{"2024/mtime-only.jpg:"},
		{"2024/sub/IMG_1.JPG:" + string(LeftOut)},
	}
	if len(got) != len(want) {
		t.Fatalf("groups %q, want %q", got, want)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("groups %q, want %q", got, want)
		}
		for k := range want[i] {
			if got[i][k] != want[i][k] {
				t.Errorf("groups %q, want %q", got, want)
			}
		}
	}
	if all, _ := inScope(Root{Name: "pictures", Path: "/p"}, rows, Scope{Now: now}); len(all) != 5 {
		t.Errorf("with no age and no folder: %d groups, want 5", len(all))
	}
}

// A group is freed all or nothing over the files on the disk: one of its
// files the journal does not hold (excluded, or new since the last scan)
// keeps it whole, named.
func TestKeepUnlisted(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"IMG_3.HEIC", "IMG_3.MOV", "DSC_9.JPG", "DSC_9.JPG.xmp", "lone.jpg", "lone_2.jpg"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	item := func(name string) *Item {
		return &Item{File: journal.File{Path: "2024/" + name}, Abs: filepath.Join(dir, name)}
	}
	listed := map[string][]os.DirEntry{}
	for _, tc := range []struct {
		group []*Item
		want  string
	}{
		{[]*Item{item("IMG_3.HEIC")}, "IMG_3.MOV"},
		{[]*Item{item("DSC_9.JPG")}, "DSC_9.JPG.xmp"},
		{[]*Item{item("lone.jpg")}, ""},
	} {
		keepUnlisted(tc.group, listed)
		for _, it := range tc.group {
			want := Reason("")
			if tc.want != "" {
				want = PartnerUnproven
			}
			if it.Reason != want || it.Detail != tc.want {
				t.Errorf("%s: %q (%s), want %q (%s)", it.Path, it.Reason, it.Detail, want, tc.want)
			}
		}
	}
}
