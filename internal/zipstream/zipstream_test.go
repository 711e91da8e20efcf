package zipstream

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"
)

// content is the made-up bytes of entry i.
func content(i int, size int64) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte(i*7 + j)
	}
	return b
}

// openContent opens the entries' content.
func openContent(entries []Entry) func(context.Context, int) (io.ReadCloser, error) {
	return func(_ context.Context, i int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(content(i, entries[i].Size))), nil
	}
}

// checkArchive writes entries and checks that the archive is Size long and
// opens with archive/zip with every entry's name, bytes and time.
func checkArchive(t *testing.T, entries []Entry) *zip.Reader {
	t.Helper()
	var out bytes.Buffer
	if err := Write(context.Background(), &out, entries, openContent(entries)); err != nil {
		t.Fatal(err)
	}
	if got, want := int64(out.Len()), Size(entries); got != want {
		t.Fatalf("archive of %d entries: got %d bytes, Size said %d", len(entries), got, want)
	}
	zr, err := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != len(entries) {
		t.Fatalf("got %d files, want %d", len(zr.File), len(entries))
	}
	for i, f := range zr.File {
		e := entries[i]
		if f.Name != e.Name || f.Method != zip.Store {
			t.Fatalf("file %d: got %q method %d, want %q stored", i, f.Name, f.Method, e.Name)
		}
		if !e.Modified.IsZero() && !f.Modified.Equal(e.Modified.Truncate(time.Second)) {
			t.Errorf("%s: modified %v, want %v", e.Name, f.Modified, e.Modified)
		}
		b := readFile(t, f)
		if !bytes.Equal(b, content(i, e.Size)) {
			t.Errorf("%s: got %d bytes that differ from the %d written", e.Name, len(b), e.Size)
		}
	}
	return zr
}

func readFile(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc) // checks the CRC-32 at the end
	if err != nil {
		t.Fatalf("read %s: %v", f.Name, err)
	}
	return b
}

func TestWrite_Shapes(t *testing.T) {
	when := time.Date(2024, 1, 31, 14, 5, 7, 123, time.FixedZone("JST", 9*3600))
	tests := []struct {
		name    string
		entries []Entry
	}{
		{"empty", nil},
		{"empty files", []Entry{{Name: "a/empty.jpg"}, {Name: "b/empty.mov", Modified: when}}},
		{"no time", []Entry{{Name: "laptop/Pictures/IMG_0001.JPG", Size: 1000}}},
		{"times", []Entry{{Name: "laptop/IMG_0001.HEIC", Size: 4096, Modified: when},
			{Name: "laptop/IMG_0001.MOV", Size: 70000, Modified: when.Add(time.Hour)},
			{Name: "phone/DCIM/old.jpg", Size: 3, Modified: time.Date(1999, 12, 31, 23, 59, 58, 0, time.UTC)}}},
		{"unicode", []Entry{{Name: "téléphone/Photos/été 2024/plage 🌊.jpg", Size: 10, Modified: when},
			{Name: "電話/写真.jpg", Size: 20}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			zr := checkArchive(t, tt.entries)
			for _, f := range zr.File {
				ascii := strings.IndexFunc(f.Name, func(r rune) bool { return r > 0x7d }) < 0
				if utf8Flag := f.Flags&0x800 != 0; utf8Flag == ascii {
					t.Errorf("%s: UTF-8 flag %v", f.Name, utf8Flag)
				}
			}
		})
	}
}

// More than 65,535 entries need the zip64 end records.
func TestWrite_ManyEntries(t *testing.T) {
	entries := make([]Entry, 70000)
	when := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := range entries {
		entries[i] = Entry{Name: fmt.Sprintf("phone/DCIM/%03d/IMG_%05d.JPG", i/1000, i), Size: int64(i % 5), Modified: when}
	}
	checkArchive(t, entries)
}

// zeros is size zero bytes.
type zeros struct{ left int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.left == 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), z.left))
	clear(p[:n])
	z.left -= int64(n)
	return n, nil
}

// ends keeps the first and last bytes written to it, and reads as zeros
// between them.
type ends struct {
	n          int64
	head, tail []byte
}

const keep = 1 << 20

func (e *ends) Write(p []byte) (int, error) {
	if len(e.head) < keep {
		e.head = append(e.head, p[:min(len(p), keep-len(e.head))]...)
	}
	e.tail = append(e.tail, p...)
	if len(e.tail) > 2*keep {
		e.tail = append(e.tail[:0], e.tail[len(e.tail)-keep:]...)
	}
	e.n += int64(len(p))
	return len(p), nil
}

func (e *ends) ReadAt(p []byte, off int64) (int, error) {
	if off >= e.n {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), e.n-off))
	clear(p[:n])
	if off < int64(len(e.head)) {
		copy(p[:n], e.head[off:])
	}
	tailStart := e.n - int64(len(e.tail))
	if end := off + int64(n); end > tailStart {
		from := max(off, tailStart)
		copy(p[from-off:n], e.tail[from-tailStart:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// An entry of 4 GiB and more needs zip64 sizes, and the entry after it a
// zip64 offset. This streams 4 GiB through the CRC-32 twice: it takes a
// few seconds.
func TestWrite_Zip64(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 4 GiB")
	}
	big := int64(1<<32 + 1)
	when := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	entries := []Entry{{Name: "nas/video/long.mov", Size: big, Modified: when}, {Name: "nas/after.txt", Size: 5, Modified: when}}
	out := &ends{}
	err := Write(context.Background(), out, entries, func(_ context.Context, i int) (io.ReadCloser, error) {
		if i == 0 {
			return io.NopCloser(&zeros{left: big}), nil
		}
		return io.NopCloser(strings.NewReader("after")), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.n != Size(entries) {
		t.Fatalf("got %d bytes, Size said %d", out.n, Size(entries))
	}
	zr, err := zip.NewReader(out, out.n)
	if err != nil {
		t.Fatal(err)
	}
	f := zr.File[0]
	if f.UncompressedSize64 != uint64(big) || !f.Modified.Equal(when) {
		t.Errorf("big entry: %d bytes at %v, want %d at %v", f.UncompressedSize64, f.Modified, big, when)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	h := crc32.NewIEEE()
	n, err := io.CopyBuffer(h, rc, make([]byte, keep))
	if err != nil || n != big {
		t.Fatalf("read the big entry back: %d bytes, %v", n, err)
	}
	if b := readFile(t, zr.File[1]); string(b) != "after" {
		t.Errorf("entry after the big one: got %q", b)
	}
}

// An entry with fewer or more bytes than listed fails the archive.
func TestWrite_WrongSize(t *testing.T) {
	for _, got := range []int64{99, 101} {
		t.Run(fmt.Sprint(got), func(t *testing.T) {
			entries := []Entry{{Name: "a.jpg", Size: 10}, {Name: "b.jpg", Size: 100}, {Name: "c.jpg", Size: 10}}
			opened := 0
			err := Write(context.Background(), io.Discard, entries, func(_ context.Context, i int) (io.ReadCloser, error) {
				opened++
				size := entries[i].Size
				if i == 1 {
					size = got
				}
				return io.NopCloser(bytes.NewReader(make([]byte, size))), nil
			})
			if !errors.Is(err, ErrSize) || !strings.Contains(err.Error(), "b.jpg") {
				t.Fatalf("got %v, want ErrSize naming b.jpg", err)
			}
			if opened != 2 {
				t.Errorf("opened %d entries, want 2 (stop at the bad one)", opened)
			}
		})
	}
}

func TestWrite_OpenFails(t *testing.T) {
	entries := []Entry{{Name: "a.jpg", Size: 10}}
	gone := errors.New("object gone")
	err := Write(context.Background(), io.Discard, entries, func(context.Context, int) (io.ReadCloser, error) { return nil, gone })
	if !errors.Is(err, gone) {
		t.Fatalf("got %v, want %v", err, gone)
	}
}

// Names that are not unique clean relative paths are refused before a
// byte is written.
func TestWrite_RefusesNames(t *testing.T) {
	for _, names := range [][]string{{"a.jpg", "a.jpg"}, {"/etc/passwd"}, {"../up.jpg"}, {"a/../../b.jpg"},
		{""}, {"."}, {"dir/"}, {"a//b.jpg"}, {strings.Repeat("x", 1<<16)}} {
		var entries []Entry
		for _, n := range names {
			entries = append(entries, Entry{Name: n, Size: 1})
		}
		var out bytes.Buffer
		err := Write(context.Background(), &out, entries, openContent(entries))
		if err == nil || out.Len() != 0 {
			t.Errorf("%.20q: got %v and %d bytes, want an error and nothing written", names, err, out.Len())
		}
	}
}
