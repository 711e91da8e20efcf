package restore_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/restore"
	"github.com/cloudkeep/cloudkeep/storage"
)

// objects is a storage that only serves Get, from a map of key to content.
type objects struct {
	storage.Storage
	m map[string]string
}

func (o objects) Get(_ context.Context, key string, offset int64) (io.ReadCloser, error) {
	s, ok := o.m[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader([]byte(s[offset:]))), nil
}

// Keys are escaped paths (agent.KeyTemplate.Key): a restore gives every file
// back the name it had, '%' and bytes that are not UTF-8 included.
func TestRestore_EscapedNames(t *testing.T) {
	probe := filepath.Join(t.TempDir(), "\xff")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Skipf("this file system refuses names that are not UTF-8: %v", err)
	}
	for _, tc := range []struct{ name, rel, file string }{
		{"percent hex", "laptop/p/%25FFbad.jpg", "%FFbad.jpg"},
		{"raw byte", "laptop/p/%FFbad.jpg", "\xffbad.jpg"},
		{"percent", "laptop/p/50%25.jpg", "50%.jpg"},
		{"old key with a lone percent", "laptop/p/60%.jpg", "60%.jpg"},
		{"plain", "laptop/p/été/a b.jpg", "été/a b.jpg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := t.TempDir()
			key := "alice/" + tc.rel
			st := objects{m: map[string]string{key: tc.name}}
			it := restore.Item{Key: key, Rel: tc.rel, Size: int64(len(tc.name))}
			sum := restore.Restore(context.Background(), []restore.Item{it}, restore.Options{Storage: st, Dest: dest, Log: zerolog.Nop()})
			if sum.Restored != 1 || len(sum.Failed) > 0 {
				t.Fatalf("got %+v, want 1 restored", sum)
			}
			got, err := os.ReadFile(filepath.Join(dest, "laptop", "p", filepath.FromSlash(tc.file)))
			if err != nil || string(got) != tc.name {
				t.Errorf("%q: got %q, %v; want %q", tc.file, got, err, tc.name)
			}
		})
	}
}

// Items that come to one path: the first by key is restored, the others
// fail; a different file in place is never replaced, whatever its name.
func TestRestore_OnePathOnce(t *testing.T) {
	dest := t.TempDir()
	dir := filepath.Join(dest, "laptop", "p")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "b.jpg"), []byte("local"), 0o644)
	os.WriteFile(filepath.Join(dir, "b (restored).jpg"), []byte("notes"), 0o644)
	st := objects{m: map[string]string{"alice/laptop/p/a%2Fb.jpg": "slash", "alice/laptop/p/a/b.jpg": "one",
		"alice/laptop/p/a/./b.jpg": "two", "alice/laptop/p/b.jpg": "backed up"}}
	var items []restore.Item
	for k, v := range st.m {
		items = append(items, restore.Item{Key: k, Rel: k[len("alice/"):], Size: int64(len(v))})
	}
	sum := restore.Restore(context.Background(), items, restore.Options{Storage: st, Dest: dest, Workers: 4, Log: zerolog.Nop()})
	if sum.Restored != 3 || len(sum.Failed) != 1 || sum.Failed[0].Key != "alice/laptop/p/a/b.jpg" {
		t.Fatalf("got %+v, want 3 restored and alice/laptop/p/a/b.jpg failed", sum)
	}
	for name, want := range map[string]string{"a%2Fb.jpg": "slash", "a/b.jpg": "two", "b.jpg": "local",
		"b (restored).jpg": "notes", "b (restored 2).jpg": "backed up"} {
		if got, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name))); string(got) != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}
