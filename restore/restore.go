// Package restore lists what is backed up and brings it back: each file is
// streamed to NAME.cloudkeep-part, checked against the SHA-256 stored with
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
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/cloudkeep/cloudkeep/internal/keypath"
	"github.com/cloudkeep/cloudkeep/internal/ratelimit"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/cloudkeep/cloudkeep/storage"
)

// Item is one stored file.
type Item struct {
	Key    string    `json:"key"`
	Rel    string    `json:"path"`   // the key below the listed prefix, escaped as keys are (keypath)
	Device string    `json:"device"` // the device that uploaded it
	Size   int64     `json:"size"`
	SHA256 string    `json:"sha256"`
	ETag   string    `json:"etag"`
	MTime  time.Time `json:"mtime"` // the file's modification time when uploaded
	Stored time.Time `json:"stored"`
	// Target is the local path to restore it to; empty: Options.Dest
	// joined with Rel.
	Target string `json:"-"`
}

// Filter selects items.
type Filter struct {
	Device string    // only this device's files
	Since  time.Time // only files modified at or after
}

// List returns the items under prefix ("<user>/"), sorted by key.
func List(ctx context.Context, st storage.Storage, prefix string, f Filter) ([]Item, error) {
	var out []Item
	err := st.List(ctx, prefix, func(o storage.Object) error {
		it := Item{Key: o.Key, Rel: strings.TrimPrefix(o.Key, prefix), Size: o.Size, Stored: o.LastModified,
			MTime: o.LastModified, SHA256: o.Meta.SHA256, ETag: o.ETag, Device: o.Meta.Device}
		if !o.Meta.MTime.IsZero() {
			it.MTime = o.Meta.MTime
		}
		if (f.Device == "" || it.Device == f.Device) && (f.Since.IsZero() || !it.MTime.Before(f.Since)) {
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

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

// Restore downloads items into o.Dest.
func Restore(ctx context.Context, items []Item, o Options) Summary {
	var sum Summary
	var mu sync.Mutex
	lim := ratelimit.New(o.BandwidthLimit)
	queue := make(chan Item)
	var wg sync.WaitGroup
	for range max(o.Workers, 1) {
		wg.Go(func() {
			for it := range queue {
				n, skipped, err := restoreOne(ctx, it, o, lim)
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

// restoreOne brings one item back; it returns the bytes downloaded and
// whether an identical file was already in place.
func restoreOne(ctx context.Context, it Item, o Options, lim *rate.Limiter) (int64, bool, error) {
	final := it.Target
	if final == "" {
		final = filepath.Join(o.Dest, filepath.FromSlash(path.Clean("/"+keypath.Unescape(it.Rel))))
	}
	if same, err := sameFile(final, it); err != nil {
		return 0, false, err
	} else if same {
		return 0, true, inPlace(ctx, it, final, o)
	}
	if _, err := os.Lstat(final); err == nil && !o.Overwrite {
		ext := filepath.Ext(final)
		final = strings.TrimSuffix(final, ext) + " (restored)" + ext
		if same, _ := sameFile(final, it); same {
			return 0, true, inPlace(ctx, it, final, o)
		}
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return 0, false, err
	}
	part := final + PartSuffix
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
		if err := f.Truncate(0); err != nil {
			return 0, err
		}
		h.Reset()
		have = 0
		f.Seek(0, io.SeekStart)
	}
	progress(o, have)
	var n int64
	if have < it.Size {
		obj, err := o.Storage.Get(ctx, it.Key, have)
		if err != nil {
			return 0, err
		}
		defer obj.Close()
		w := io.MultiWriter(f, h, progressWriter{o})
		n, err = io.CopyBuffer(w, ratelimit.Reader(ctx, obj, lim), make([]byte, 1<<20))
		if err != nil {
			return n, fmt.Errorf("download %s: %w", it.Key, err)
		}
	}
	if err := f.Sync(); err != nil {
		return n, err
	}
	if it.SHA256 != "" && hex.EncodeToString(h.Sum(nil)) != it.SHA256 {
		f.Close()
		os.Remove(part) // the bad bytes go nowhere
		return n, ErrChecksum
	}
	return n, nil
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
