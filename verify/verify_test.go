package verify

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

var mtime = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func row(id int64, path string, state journal.State, size int64, sha string) journal.Row {
	return journal.Row{File: journal.File{ID: id, Root: "photos", Path: path, State: state,
		Identity: journal.Identity{Size: size, MTime: mtime, Inode: uint64(id)},
		SHA256:   sha, Key: "alice/laptop/photos/" + path, ETag: "etag-" + path}}
}

func object(path string, size int64, sha, etag string) storage.Object {
	return storage.Object{Key: "alice/laptop/photos/" + path, Size: size, ETag: etag, Meta: storage.Meta{SHA256: sha}}
}

func TestCompare_Remote(t *testing.T) {
	pending := row(5, "e.jpg", journal.Pending, 10, "")
	pending.UpdatedAt = time.Date(2026, 11, 27, 9, 30, 0, 0, time.Local)
	failed := row(6, "f.jpg", journal.Failed, 10, "")
	failed.LastError = "storage refused: 403"
	skipped := row(7, "g.jpg", journal.Skipped, 10, "")
	skipped.LastError = "captured 2019-05-01, before media.since 2024-01-01"
	in := Input{
		Rows: []journal.Row{
			row(1, "a.jpg", journal.Done, 10, "aaa"), // whole, same ETag
			row(2, "b.jpg", journal.Done, 10, "bbb"), // gone
			row(3, "c.jpg", journal.Done, 10, "ccc"), // truncated
			row(4, "d.jpg", journal.Done, 10, "ddd"), // replaced without metadata
			pending, failed, skipped,
			row(8, "h.jpg", journal.Freed, 10, "hhh"),   // freed, gone
			row(9, "i.jpg", journal.Deleted, 10, "iii"), // deleted: no finding
			row(10, "j.jpg", journal.Done, 10, "jjj"),   // copied on the server: other ETag, same sha256
			row(11, "k.jpg", journal.Done, 10, "kkk"),   // other sha256 in the metadata
		},
		Objects: []storage.Object{
			object("a.jpg", 10, "aaa", "etag-a.jpg"),
			object("c.jpg", 4, "ccc", "etag-c.jpg"),
			object("d.jpg", 10, "", "other"),
			object("j.jpg", 10, "jjj", "copied"),
			object("k.jpg", 10, "zzz", "other"),
			object("stray.jpg", 3, "", "x"),
			{Key: "alice/.thumbs/ab/cd.jpg", Size: 5},
			{Key: "alice/laptop/.cloudkeep/manifest.json.gz", Size: 5},
		},
		Walked: true,
	}
	rep := Compare(in)
	want := []Finding{
		{Reason: MissingRemote, Key: "alice/laptop/photos/b.jpg", Failing: true, Repair: true},
		{Reason: SizeMismatch, Key: "alice/laptop/photos/c.jpg", Detail: "object 4 bytes, file 10 bytes", Failing: true, Repair: true},
		{Reason: HashMismatch, Key: "alice/laptop/photos/d.jpg", Detail: "replaced by another writer: no sha256 in its metadata, ETag other (stored etag-d.jpg)", Failing: true, Repair: true},
		{Reason: NotUploaded, Detail: "pending since 2026-11-27 09:30", Failing: true, Repair: true},
		{Reason: NotUploaded, Detail: "failed: storage refused: 403", Failing: true, Repair: true},
		{Reason: NotUploaded, Detail: "skipped: captured 2019-05-01, before media.since 2024-01-01"},
		{Reason: MissingRemote, Key: "alice/laptop/photos/h.jpg", Failing: true},
		{Reason: HashMismatch, Key: "alice/laptop/photos/k.jpg", Detail: "sha256 zzz in its metadata, stored kkk", Failing: true, Repair: true},
		{Reason: RemoteOnly, Key: "alice/laptop/photos/stray.jpg", Detail: "3 bytes, no journal row holds it"},
	}
	if len(rep.Findings) != len(want) {
		t.Fatalf("got %d findings, want %d: %+v", len(rep.Findings), len(want), rep.Findings)
	}
	for i, w := range want {
		g := rep.Findings[i]
		if g.Reason != w.Reason || g.Failing != w.Failing || g.Repair != w.Repair ||
			(w.Key != "" && g.Key != w.Key) || (w.Detail != "" && g.Detail != w.Detail) {
			t.Errorf("finding %d: got %+v, want %+v", i, g, w)
		}
	}
	if d := rep.Findings[6].Detail; d != "stored earlier, the object is gone; freed locally: restore it from the trash" {
		t.Errorf("freed detail: got %q", d)
	}
	if rep.OK() || rep.Failing != 7 {
		t.Errorf("got failing %d, want 7", rep.Failing)
	}
	if rep.Tracked != 10 || rep.Stored != 2 {
		t.Errorf("got tracked %d stored %d, want 10 and 2 (a and j are whole)", rep.Tracked, rep.Stored)
	}
}

func TestCompare_LightSkipsUnuploaded(t *testing.T) {
	rep := Compare(Input{
		Rows:    []journal.Row{row(1, "a.jpg", journal.Pending, 10, ""), row(2, "b.jpg", journal.Done, 10, "bbb")},
		Objects: []storage.Object{object("b.jpg", 10, "bbb", "etag-b.jpg"), object("z.jpg", 1, "", "z")},
	})
	if !rep.OK() || rep.Counts[RemoteOnly] != 1 || len(rep.Findings) != 1 {
		t.Fatalf("got %+v, want only one remote_only and OK", rep)
	}
}

func TestCompare_OtherDevices(t *testing.T) {
	o := object("z.jpg", 1, "", "z")
	o.Meta.Device = "phone"
	rep := Compare(Input{Objects: []storage.Object{o}, Device: "laptop"})
	if len(rep.Findings) != 0 {
		t.Fatalf("got %+v, want the other device's object left out", rep.Findings)
	}
}

func TestCompare_Locals(t *testing.T) {
	done := row(1, "a.jpg", journal.Done, 10, "aaa")
	changed := row(2, "b.jpg", journal.Done, 10, "bbb")
	tests := []struct {
		name    string
		local   Local
		want    Reason // "" for no finding
		failing bool
		repair  bool
	}{
		{"unchanged", Local{Rel: "a.jpg", Identity: done.Identity}, "", false, false},
		{"deep same", Local{Rel: "a.jpg", Identity: done.Identity, SHA256: "aaa"}, "", false, false},
		{"deep other", Local{Rel: "a.jpg", Identity: done.Identity, SHA256: "a0a"}, HashMismatch, true, false},
		{"changed", Local{Rel: "b.jpg", Identity: journal.Identity{Size: 11}}, NotUploaded, true, true},
		{"untracked", Local{Rel: "new.jpg"}, NotUploaded, true, true},
		{"excluded", Local{Rel: "cache/x.jpg", Excluded: `excluded by rule "**/cache/**"`}, NotUploaded, false, false},
		{"excluded but stored", Local{Rel: "a.jpg", Identity: done.Identity, Excluded: "excluded by rule x"}, "", false, false},
		{"unreadable", Local{Rel: "u.jpg", Err: errors.New("cannot read: permission denied")}, NotUploaded, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.local.Root = "photos"
			rep := Compare(Input{Rows: []journal.Row{done, changed}, Walked: true, Locals: []Local{tt.local},
				Objects: []storage.Object{object("a.jpg", 10, "aaa", "etag-a.jpg"), object("b.jpg", 10, "bbb", "etag-b.jpg")}})
			if tt.want == "" {
				if len(rep.Findings) != 0 {
					t.Fatalf("got %+v, want none", rep.Findings)
				}
				return
			}
			if len(rep.Findings) != 1 {
				t.Fatalf("got %+v, want one %s", rep.Findings, tt.want)
			}
			f := rep.Findings[0]
			if f.Reason != tt.want || f.Failing != tt.failing || f.Repair != tt.repair {
				t.Errorf("got %+v, want %s failing=%v repair=%v", f, tt.want, tt.failing, tt.repair)
			}
		})
	}
}

// BenchmarkCompare measures the comparison of 100,000 rows with their
// listing (journal and listing already read).
func BenchmarkCompare(b *testing.B) {
	in := Input{}
	for i := range 100000 {
		p := "2026/" + time.Unix(int64(i), 0).UTC().Format("150405") + "-" + string(rune('a'+i%26)) + ".jpg"
		r := row(int64(i+1), p, journal.Done, 1000, "sum")
		in.Rows = append(in.Rows, r)
		in.Objects = append(in.Objects, object(p, 1000, "sum", r.ETag))
	}
	b.ResetTimer()
	for b.Loop() {
		if rep := Compare(in); !rep.OK() {
			b.Fatal(rep.Findings[0])
		}
	}
}

// A key template without {device}: a key this device's object was
// deleted from, then another device stored its own file under, is this
// device's missing_remote, repaired under a new key.
func TestCompare_SharedKeyTakenByAnotherDevice(t *testing.T) {
	byPhone := object("a.jpg", 838, "ppp", "phone-etag")
	byPhone.Meta.Device = "phone"
	noDevice := object("b.jpg", 10, "qqq", "other")
	rep := Compare(Input{Device: "laptop",
		Rows:    []journal.Row{row(1, "a.jpg", journal.Done, 833, "aaa"), row(2, "b.jpg", journal.Done, 10, "bbb")},
		Objects: []storage.Object{byPhone, noDevice}})
	if len(rep.Findings) != 2 {
		t.Fatalf("got %+v, want two missing_remote", rep.Findings)
	}
	for _, f := range rep.Findings {
		if f.Reason != MissingRemote || !f.NewKey || !f.Repair || !f.Failing {
			t.Errorf("got %+v, want missing_remote repaired under a new key", f)
		}
	}
	if d := rep.Findings[0].Detail; d != "stored earlier; the key now holds another device's file (phone)" {
		t.Errorf("detail: got %q", d)
	}
	if rep.Counts[SizeMismatch] != 0 || rep.Counts[HashMismatch] != 0 || rep.Counts[RemoteOnly] != 0 {
		t.Errorf("counts: got %v", rep.Counts)
	}
}

// --deep found the local file damaged and its object is gone: the repair
// must not upload the damaged file; the content stored under another key
// is named.
func TestCompare_DamagedFileNeverRepaired(t *testing.T) {
	done := row(1, "a.jpg", journal.Done, 10, "aaa")
	copyRow := row(2, "copy.jpg", journal.Done, 10, "aaa")
	rep := Compare(Input{Rows: []journal.Row{done, copyRow}, Walked: true,
		Locals:  []Local{{Root: "photos", Rel: "a.jpg", Identity: done.Identity, SHA256: "a0a"}},
		Objects: []storage.Object{object("copy.jpg", 10, "aaa", "etag-copy.jpg")}})
	if len(rep.Findings) != 2 {
		t.Fatalf("got %+v, want missing_remote and hash_mismatch", rep.Findings)
	}
	for _, f := range rep.Findings {
		if f.Repair || !f.Failing {
			t.Errorf("got %+v, want failing and not repaired", f)
		}
	}
	if d := rep.Findings[1].Detail; !strings.HasSuffix(d, "; its stored content is also under alice/laptop/photos/copy.jpg: `cloudkeep restore` can bring it back") {
		t.Errorf("detail: got %q", d)
	}
}

func TestCompare_CountsEveryReason(t *testing.T) {
	rep := Compare(Input{})
	for _, r := range Reasons {
		if n, ok := rep.Counts[r]; !ok || n != 0 {
			t.Errorf("counts[%s]: got %d, %v, want 0, true", r, n, ok)
		}
	}
}

func TestCompare_JournalEmpty(t *testing.T) {
	rep := Compare(Input{Walked: true, Locals: []Local{{Root: "photos", Rel: "a.jpg"}},
		Objects: []storage.Object{object("a.jpg", 10, "aaa", "e")}})
	if !rep.JournalEmpty || rep.Findings[0].Repair {
		t.Errorf("got %+v, want the journal empty and nothing to repair", rep)
	}
}
