// Package zipstream writes a ZIP of files it reads one after the other,
// without a temporary file, and knows the archive's exact length before
// the first byte: a server can send Content-Length, so a browser shows
// the download's progress and a cut connection is seen as a failure.
//
// Entries are stored, not compressed (photos and videos do not shrink),
// with the standard archive/zip writer.
package zipstream

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// Entry is one file of the archive.
type Entry struct {
	Name     string    // slash-separated relative path, unique in the archive
	Size     int64     // the exact number of bytes open will give
	Modified time.Time // zero = no time
}

// copyBuffer is the size of the one buffer Write copies through.
const copyBuffer = 1 << 20

// The sizes of archive/zip's records (archive/zip/writer.go and struct.go).
const (
	localHeader      = 30 // before the name and the extra fields
	centralHeader    = 46
	extTimeExtra     = 9  // extended timestamp, when Modified is set
	zip64Extra       = 28 // central directory only, when size or offset need it
	dataDescriptor   = 16
	dataDescriptor64 = 24
	endRecord        = 22
	end64Records     = 56 + 20 // zip64 end record and its locator
	max16            = 1<<16 - 1
	max32            = 1<<32 - 1
)

// Size is the exact length of the archive Write makes of entries.
func Size(entries []Entry) int64 {
	var offset, dir int64
	for _, e := range entries {
		extra := int64(0)
		if !e.Modified.IsZero() {
			extra = extTimeExtra
		}
		central := centralHeader + int64(len(e.Name)) + extra
		if e.Size >= max32 || offset >= max32 {
			central += zip64Extra
		}
		dir += central
		offset += localHeader + int64(len(e.Name)) + extra + e.Size + dataDescriptor
		if e.Size >= max32 {
			offset += dataDescriptor64 - dataDescriptor
		}
	}
	size := offset + dir + endRecord
	if len(entries) >= max16 || dir >= max32 || offset >= max32 {
		size += end64Records
	}
	return size
}

// Check reports the first entry Write would refuse: a name that is not a
// clean relative path (empty, absolute, "." or ".." parts, a trailing
// slash), too long, or given twice, or a negative size.
func Check(entries []Entry) error {
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		switch {
		case !fs.ValidPath(e.Name) || e.Name == ".":
			return fmt.Errorf("zip entry %q: not a relative path", e.Name)
		case len(e.Name) > max16:
			return fmt.Errorf("zip entry %.40q…: name longer than %d bytes", e.Name, max16)
		case seen[e.Name]:
			return fmt.Errorf("zip entry %q: given twice", e.Name)
		case e.Size < 0:
			return fmt.Errorf("zip entry %q: negative size", e.Name)
		}
		seen[e.Name] = true
	}
	return nil
}

// ErrSize is the error Write returns when an entry's bytes are more or
// fewer than its Size: the file changed since it was listed. The archive
// written so far is then not whole.
var ErrSize = errors.New("not the size it was listed with")

// Write writes the archive of entries to w, exactly Size(entries) bytes,
// reading entry i from open(ctx, i) and closing it. It writes nothing
// when Check refuses the entries. On any other error (open, read, a size
// that is not the entry's Size, w, ctx) it stops at once: what it wrote
// is then a truncated archive, which the caller must not present as
// whole.
func Write(ctx context.Context, w io.Writer, entries []Entry, open func(ctx context.Context, i int) (io.ReadCloser, error)) error {
	if err := Check(entries); err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	buf := make([]byte, copyBuffer)
	for i, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name, Method: zip.Store, Modified: e.Modified})
		if err != nil {
			return fmt.Errorf("zip entry %s: %w", e.Name, err)
		}
		if err := copyEntry(ctx, fw, e, i, open, buf); err != nil {
			return fmt.Errorf("zip entry %s: %w", e.Name, err)
		}
	}
	return zw.Close()
}

// copyEntry copies entry i, failing unless it has exactly e.Size bytes.
func copyEntry(ctx context.Context, w io.Writer, e Entry, i int, open func(context.Context, int) (io.ReadCloser, error), buf []byte) error {
	rc, err := open(ctx, i)
	if err != nil {
		return err
	}
	defer rc.Close()
	// Hide WriterTo and ReaderFrom so that the one buffer is used.
	n, err := io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{io.LimitReader(rc, e.Size+1)}, buf)
	if err != nil {
		return err
	}
	if n != e.Size {
		return fmt.Errorf("%d bytes, want %d: %w", n, e.Size, ErrSize)
	}
	return nil
}
