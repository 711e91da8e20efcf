package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/rs/zerolog"
)

// transportStream is the start of an MPEG-TS file: a 0x47 sync byte every
// packetSize bytes, after offset bytes (4 for AVCHD's timestamped packets).
func transportStream(offset, packetSize int) []byte {
	b := make([]byte, 64*packetSize)
	for i := offset; i < len(b); i += packetSize {
		b[i], b[i+1], b[i+3] = 0x47, 0x40, 0x10
	}
	return b
}

func TestScanner_ScanRoot(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"AVCHD/BDMV/STREAM/00001.MTS": transportStream(4, 192),
		"clip.m2ts":                   transportStream(4, 192),
		"rec.ts":                      transportStream(0, 188),
		"notes/todo.txt":              []byte("buy film\n"),
		"other.txt":                   []byte("not media\n"),
		"cache/x.ts":                  transportStream(0, 188),
		".hidden.jpg":                 []byte("x"),
	}
	for rel, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var logs bytes.Buffer
	s := &scanner{
		journal: j,
		filter: &media.Filter{
			Kinds:   []media.Kind{media.Photo, media.Video},
			Include: []string{"notes/*.txt", "*.MTS", "*.m2ts", "*.ts"},
			Exclude: []string{"cache/**"},
		},
		keys: KeyTemplate{Template: "{device}/{root}/{path}", Device: "d"},
		log:  zerolog.New(&logs).Level(zerolog.DebugLevel),
	}
	root := Root{Name: "r", Path: dir}
	for scan := range 2 { // the second scan logs nothing new
		var got []string
		_, err = s.scanRoot(context.Background(), root, func(j job) { got = append(got, j.file.Path) }, func(p string, err error) { t.Errorf("%s: %v", p, err) })
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if want := []string{"AVCHD/BDMV/STREAM/00001.MTS", "clip.m2ts", "notes/todo.txt", "rec.ts"}; scan == 0 && !slices.Equal(got, want) {
			t.Errorf("backed up %q, want %q", got, want)
		}
	}
	for _, want := range []string{
		`"path":"other.txt","reason":"not included by media.include"`,
		`"path":"cache/x.ts","reason":"excluded by rule \"cache/**\""`,
		`"path":".hidden.jpg","reason":"hidden or temporary name"`,
	} {
		if n := strings.Count(logs.String(), want); n != 1 {
			t.Errorf("log has %d lines with %s, want 1; log:\n%s", n, want, logs.String())
		}
	}
}

func TestScanner_LogsNotMedia(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "readme.txt"), []byte("text"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.ts"), []byte("export const x = 1;\n"), 0o644)
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var logs bytes.Buffer
	s := &scanner{journal: j, filter: &media.Filter{Kinds: []media.Kind{media.Video}}, log: zerolog.New(&logs).Level(zerolog.DebugLevel)}
	st, err := s.scanRoot(context.Background(), Root{Name: "r", Path: dir}, func(j job) { t.Errorf("backed up %s", j.file.Path) }, func(string, error) {})
	if err != nil || st.Media != 0 {
		t.Fatalf("got %d media, %v; want 0, nil", st.Media, err)
	}
	for _, want := range []string{`"path":"readme.txt","reason":"not media"`, `"path":"app.ts","reason":"not media"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s; log:\n%s", want, logs.String())
		}
	}
}
