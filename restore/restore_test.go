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
