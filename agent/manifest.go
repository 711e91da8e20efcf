package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/manifest"
	"github.com/cloudkeep/cloudkeep/storage"
)

// Manifesting keeps the device's manifest in the bucket: which keys are
// live on the device, and since when (package manifest).
type Manifesting struct {
	// ManifestStorage is where the manifest goes; nil: none is kept.
	ManifestStorage storage.Storage
	// ManifestEvery is how often, at most, the manifest is written again
	// when something changed; 5 minutes unless set.
	ManifestEvery time.Duration
}

// defaultManifestEvery keeps the manifest at most a few minutes behind.
const defaultManifestEvery = 5 * time.Minute

func (a *Agent) initManifest() {
	if a.ManifestEvery <= 0 {
		a.ManifestEvery = defaultManifestEvery
	}
	// For tests only: end-to-end tests cannot wait minutes for the
	// manifest, so they set CLOUDKEEP_TEST_MANIFEST_EVERY (e.g. "200ms").
	if d, err := time.ParseDuration(os.Getenv("CLOUDKEEP_TEST_MANIFEST_EVERY")); err == nil && d > 0 {
		a.ManifestEvery = d
	}
}

// manifestLoop writes the manifest once the first scan is done, then
// every ManifestEvery when the journal's keys changed. A write that fails
// (signed out, storage down) is tried again on the next tick.
func (a *Agent) manifestLoop(ctx context.Context) {
	if a.ManifestStorage == nil || a.Journal == nil {
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-a.ready:
	}
	mw := &ManifestWriter{Storage: a.ManifestStorage, Journal: a.Journal, Keys: a.Keys}
	pending := true // write once in each run, changed or not
	t := time.NewTicker(a.ManifestEvery)
	defer t.Stop()
	for {
		if a.Keys.Ready() {
			wrote, err := mw.Write(ctx, pending)
			switch {
			case err != nil && ctx.Err() == nil:
				pending = true
				a.repeats.Event(zerolog.WarnLevel, "manifest: "+storage.Short(err)).Str("error", storage.Short(err)).
					Msg("could not write the manifest: it is tried again")
			case err == nil:
				pending = false
				if wrote {
					a.Log.Debug().Msg("manifest written")
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ManifestWriter writes the device's manifest from its journal. A key the
// manifest in the bucket holds that this journal never knew (a new
// journal on a new machine under the same device name) is kept as the
// bucket had it, so that a lost journal does not erase the device's past.
type ManifestWriter struct {
	Storage storage.Storage
	Journal *journal.Journal
	Keys    KeyTemplate

	loaded  bool
	foreign []manifest.Entry // the bucket's entries, when loaded
}

// Write brings the journal's live keys up to date and, when they changed
// or always is set, writes the device's manifest under the user's prefix
// in one PUT (a reader sees the old whole manifest or the new). wrote
// reports whether it did.
func (w *ManifestWriter) Write(ctx context.Context, always bool) (wrote bool, err error) {
	now := time.Now()
	key := manifest.Key(w.Keys.UserPrefix(), w.Keys.Device)
	if !w.loaded {
		old, err := readManifest(ctx, w.Storage, key)
		if err != nil {
			return false, err
		}
		if old != nil {
			w.foreign = old.Keys
		}
		w.loaded = true
	}
	changed, err := w.Journal.SyncLiveKeys(ctx, now)
	if err != nil || (!changed && !always) {
		return false, err
	}
	m, err := BuildManifest(ctx, w.Journal, w.Keys.Device, now)
	if err != nil {
		return false, err
	}
	m.Keys = merged(m.Keys, w.foreign)
	var buf bytes.Buffer
	if err := manifest.Encode(&buf, m); err != nil {
		return false, err
	}
	b := buf.Bytes()
	sum := sha256.Sum256(b)
	meta := storage.Meta{SHA256: hex.EncodeToString(sum[:]), MTime: now, Device: w.Keys.Device, ContentType: "application/gzip"}
	if _, err := w.Storage.Put(ctx, key, bytes.NewReader(b), int64(len(b)), crc32cOf(b), meta); err != nil {
		return false, err
	}
	return true, nil
}

// Forget drops keys from the entries kept from the bucket (prune removed
// their objects).
func (w *ManifestWriter) Forget(keys []string) {
	gone := map[string]bool{}
	for _, k := range keys {
		gone[k] = true
	}
	w.foreign = slices.DeleteFunc(w.foreign, func(e manifest.Entry) bool { return gone[e.Key] })
}

// readManifest reads the manifest at key; nil when there is none, or when
// it cannot be read (it is then written anew).
func readManifest(ctx context.Context, st storage.Storage, key string) (*manifest.Manifest, error) {
	r, err := st.Get(ctx, key, 0)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	m, err := manifest.Decode(r)
	if err != nil && ctx.Err() == nil {
		return nil, nil
	}
	return m, err
}

// merged is local, sorted by key, with the entries of foreign whose keys
// local does not have.
func merged(local, foreign []manifest.Entry) []manifest.Entry {
	out := local
	for _, e := range foreign {
		if _, ok := slices.BinarySearchFunc(local, e.Key, func(a manifest.Entry, k string) int { return strings.Compare(a.Key, k) }); !ok {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b manifest.Entry) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// BuildManifest is the manifest of device made of the journal's live keys,
// written at now.
func BuildManifest(ctx context.Context, j *journal.Journal, device string, now time.Time) (*manifest.Manifest, error) {
	m := &manifest.Manifest{Version: manifest.Version, Device: device, Written: now.UTC()}
	err := j.LiveKeys(ctx, func(k journal.LiveKey) error {
		span := manifest.Span{From: k.From.UnixNano()}
		if !k.To.IsZero() {
			span.To = k.To.UnixNano()
		}
		if n := len(m.Keys); n > 0 && m.Keys[n-1].Key == k.Key {
			e := &m.Keys[n-1]
			e.Live = append(e.Live, span)
			if span.To == 0 || k.SHA256 != "" {
				e.Size, e.SHA256 = k.Size, k.SHA256
			}
			return nil
		}
		m.Keys = append(m.Keys, manifest.Entry{Key: k.Key, Size: k.Size, SHA256: k.SHA256, Live: []manifest.Span{span}})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}
