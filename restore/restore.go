// Package restore lists what is backed up and brings it back: each file is
// streamed to a partial file next to it (PartName), checked against the SHA-256 stored with
// the object, given its original modification time, recorded (Options.Record)
// and only then renamed into place. An interrupted restore continues from
// the partial files.
package restore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/cloudkeep/cloudkeep/internal/keypath"
	"github.com/cloudkeep/cloudkeep/internal/ratelimit"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/cloudkeep/cloudkeep/storage"
)

// Options sets how Restore works.
type Options struct {
	Storage        storage.Storage
	Dest           string
	Overwrite      bool  // replace a different file at the same path (else the restored one is suffixed)
	Workers        int   // files at once
	BandwidthLimit int64 // bytes per second; 0 for none
	Progress       func(bytes int64)
	FileDone       func()
	// Record, when set, is told of each file restored (before it takes its
	// place, fi being its final state) or found in place with the item's
	// content; an error fails the file.
	Record func(ctx context.Context, it Item, path string, fi fs.FileInfo) error
	Log    zerolog.Logger
}

// Summary is what a restore did.
type Summary struct {
	Restored, Skipped int
	Bytes             int64 // downloaded
	Failed            []Failure
}

// Failure is a file not restored, and why.
type Failure struct {
	Key string
	Err error
}

// PartSuffix marks a file being restored; the backup ignores such names
// (media.Ignored).
const PartSuffix = media.RestoreSuffix

// ErrChecksum means the downloaded bytes do not match the stored SHA-256.
var ErrChecksum = errors.New("checksum mismatch: the stored object does not match its recorded SHA-256")

// Restore downloads items into o.Dest. Two items that would land at one
// path are not both restored: the first by key is, the others fail with
// ErrSamePath.
func Restore(ctx context.Context, items []Item, o Options) Summary {
	var sum Summary
	var mu sync.Mutex
	lim := ratelimit.New(o.BandwidthLimit)
	queue := make(chan Item)
	items, sum.Failed = claim(items, o)
	c := &claims{paths: map[string]bool{}}
	for _, it := range items {
		c.paths[it.Target] = true
	}
	var wg sync.WaitGroup
	for range max(o.Workers, 1) {
		wg.Go(func() {
			for it := range queue {
				n, skipped, err := restoreOne(ctx, it, o, lim, c)
				mu.Lock()
				sum.Bytes += n
				switch {
				case err != nil:
					sum.Failed = append(sum.Failed, Failure{it.Key, err})
					o.Log.Error().Err(err).Str("key", it.Key).Msg("restore failed")
				case skipped:
					sum.Skipped++
				default:
					sum.Restored++
					o.Log.Info().Str("key", it.Key).Int64("size", it.Size).Msg("restored")
				}
				mu.Unlock()
				if o.FileDone != nil {
					o.FileDone()
				}
			}
		})
	}
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		queue <- it
	}
	close(queue)
	wg.Wait()
	return sum
}

// ErrSamePath means another item of the restore goes to the same path.
var ErrSamePath = errors.New("another backed-up file goes to the same path")

// claim sets each item's Target and keeps the first item (by key) of each
// path; the others fail.
func claim(items []Item, o Options) ([]Item, []Failure) {
	items = slices.Clone(items)
	sort.Slice(items, func(i, j int) bool { return items[i].Key < items[j].Key })
	owner := map[string]string{}
	var out []Item
	var failed []Failure
	for _, it := range items {
		if it.Target == "" {
			it.Target = filepath.Join(o.Dest, filepath.FromSlash(path.Clean("/"+keypath.Unescape(it.Rel))))
		}
		if first, ok := owner[it.Target]; ok {
			failed = append(failed, Failure{it.Key, fmt.Errorf("%w (%s): %s", ErrSamePath, first, it.Target)})
			continue
		}
		owner[it.Target] = it.Key
		out = append(out, it)
	}
	return out, failed
}

// claims are the paths the items of one restore go to, so that a suffixed
// name never takes another item's path.
type claims struct {
	mu    sync.Mutex
	paths map[string]bool
}

// restoreOne brings one item back; it returns the bytes downloaded and
// whether an identical file was already in place.
func restoreOne(ctx context.Context, it Item, o Options, lim *rate.Limiter, c *claims) (int64, bool, error) {
	final := it.Target
	if err := inside(o.Dest, filepath.Dir(final)); err != nil {
		return 0, false, err
	}
	if same, err := sameFile(final, it); err != nil {
		return 0, false, err
	} else if same {
		return 0, true, inPlace(ctx, it, final, o)
	}
	if _, err := os.Lstat(final); err == nil && !o.Overwrite {
		var same bool
		if final, same = c.free(final, it); same {
			return 0, true, inPlace(ctx, it, final, o)
		}
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return 0, false, err
	}
	part := PartName(final, it)
	n, err := download(ctx, it, part, o, lim)
	if err != nil {
		return n, false, err
	}
	if err := os.Chtimes(part, it.MTime, it.MTime); err != nil {
		return n, false, err
	}
	if err := record(ctx, it, final, part, o); err != nil { // the name does not change what it is
		return n, false, err
	}
	return n, false, os.Rename(part, final)
}

// free returns the first of "NAME (restored).EXT", "NAME (restored
// 2).EXT"... that is neither there nor another item's, or one that
// already holds the item (same: true). It never returns a different file.
func (c *claims) free(final string, it Item) (string, bool) {
	ext := filepath.Ext(final)
	base := strings.TrimSuffix(final, ext)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 1; ; i++ {
		name := base + " (restored)" + ext
		if i > 1 {
			name = fmt.Sprintf("%s (restored %d)%s", base, i, ext)
		}
		if c.paths[name] {
			continue
		}
		if same, _ := sameFile(name, it); same {
			return name, true
		}
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			c.paths[name] = true
			return name, false
		}
	}
}

// PartName is where the item is downloaded before it takes its place at
// final: a short name in final's folder, whatever the length of final's,
// the same for the same key, so that a later run resumes it (download
// starts again when the bytes there turn out to be another object's).
func PartName(final string, it Item) string {
	h := sha256.Sum256([]byte(it.Key))
	return filepath.Join(filepath.Dir(final), "."+hex.EncodeToString(h[:12])+PartSuffix)
}

// ErrOutside means a folder on the way is a symbolic link out of the
// destination.
var ErrOutside = errors.New("a folder on the way is a symbolic link that leads out of the destination; not followed")

// inside fails when dir, or the deepest of its parents that exists, is
// not below dest once symbolic links are resolved. With no dest it does
// nothing.
func inside(dest, dir string) error {
	if dest == "" {
		return nil
	}
	top, err := filepath.EvalSymlinks(dest)
	if err != nil {
		return nil // made as needed
	}
	for d := dir; ; d = filepath.Dir(d) {
		real, err := filepath.EvalSymlinks(d)
		if errors.Is(err, os.ErrNotExist) && d != filepath.Dir(d) {
			continue
		}
		if err != nil {
			return err
		}
		if rel, err := filepath.Rel(top, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%s: %w", dir, ErrOutside)
		}
		return nil
	}
}

// inPlace counts a file found at path with the item's content, and
// records it.
func inPlace(ctx context.Context, it Item, path string, o Options) error {
	progress(o, it.Size)
	return record(ctx, it, path, path, o)
}

// record tells o.Record that path holds the item, with the file at now
// (the same file, before its rename) as it is.
func record(ctx context.Context, it Item, path, now string, o Options) error {
	if o.Record == nil {
		return nil
	}
	fi, err := os.Stat(now)
	if err != nil {
		return err
	}
	return o.Record(ctx, it, path, fi)
}

// sameFile reports whether path holds the item's content.
func sameFile(path string, it Item) (bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil || fi.Size() != it.Size || it.SHA256 == "" {
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == it.SHA256, nil
}

// download appends the rest of the object to part (resuming with a Range
// request from its length), hashing the whole file, and checks the hash.
// When the bytes resumed from do not give the stored hash (a part file
// left by something else, an object replaced in between) it starts again
// from the first byte, once. A read that fails midway is resumed from
// where it stopped, with storage.DefaultBackoff.
func download(ctx context.Context, it Item, part string, o Options, lim *rate.Limiter) (int64, error) {
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := sha256.New()
	have, err := io.Copy(h, f) // the finished prefix, read again for the hash
	if err != nil {
		return 0, err
	}
	if have > it.Size {
		if have, err = restart(f, h); err != nil {
			return 0, err
		}
	}
	progress(o, have)
	n, err := fetch(ctx, it, f, h, have, o, lim)
	if err == nil && have > 0 && !matches(it, h) {
		o.Log.Warn().Str("key", it.Key).Int64("bytes", have).Msg("the partial file does not match the object; downloading it again")
		if _, err := restart(f, h); err != nil {
			return n, err
		}
		var m int64
		m, err = fetch(ctx, it, f, h, 0, o, lim)
		n += m
	}
	if err != nil {
		return n, err
	}
	if err := f.Sync(); err != nil {
		return n, err
	}
	if !matches(it, h) {
		f.Close()
		os.Remove(part) // the bad bytes go nowhere
		return n, ErrChecksum
	}
	return n, nil
}

// matches reports whether h is the item's stored SHA-256 (or none is).
func matches(it Item, h hash.Hash) bool {
	return it.SHA256 == "" || hex.EncodeToString(h.Sum(nil)) == it.SHA256
}

// restart empties f and h.
func restart(f *os.File, h hash.Hash) (int64, error) {
	h.Reset()
	if err := f.Truncate(0); err != nil {
		return 0, err
	}
	_, err := f.Seek(0, io.SeekStart)
	return 0, err
}

// fetch writes the object from byte have on to f and h, opening it again
// from where a failed read stopped.
func fetch(ctx context.Context, it Item, f *os.File, h hash.Hash, have int64, o Options, lim *rate.Limiter) (int64, error) {
	var n int64
	err := storage.DefaultBackoff.Do(ctx, o.Log, "download "+it.Key, func() error {
		if have+n >= it.Size {
			return nil
		}
		obj, err := o.Storage.Get(ctx, it.Key, have+n)
		if err != nil {
			return &storage.PermanentError{Err: err} // o.Storage tried again already
		}
		defer obj.Close()
		w := localWriter{io.MultiWriter(f, h, progressWriter{o})}
		m, err := io.CopyBuffer(w, ratelimit.Reader(ctx, obj, lim), make([]byte, 1<<20))
		n += m
		return err
	})
	if err != nil {
		return n, fmt.Errorf("download %s: %w", it.Key, err)
	}
	return n, nil
}

// localWriter makes a failed write to the disk permanent: trying the
// download again would not help.
type localWriter struct{ w io.Writer }

func (l localWriter) Write(b []byte) (int, error) {
	n, err := l.w.Write(b)
	if err != nil {
		err = &storage.PermanentError{Err: err}
	}
	return n, err
}

func progress(o Options, n int64) {
	if o.Progress != nil && n > 0 {
		o.Progress(n)
	}
}

type progressWriter struct{ o Options }

func (p progressWriter) Write(b []byte) (int, error) {
	progress(p.o, int64(len(b)))
	return len(b), nil
}
