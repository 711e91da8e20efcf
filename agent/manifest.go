package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
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
	// when something changed; a minute unless set.
	ManifestEvery time.Duration
}

// defaultManifestEvery keeps the manifest at most a minute behind: until
// it is written, a file put back under a key already stored stays out of
// restore and ls.
const defaultManifestEvery = time.Minute

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
	mw := &ManifestWriter{Storage: a.ManifestStorage, Journal: a.Journal, Keys: a.Keys, StateDir: a.StateDir, Log: a.Log}
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

// ManifestWriter writes the device's manifest from its journal, merged
// with the manifest in the bucket: a key that one holds and this journal
// never knew (a new journal on a new machine under the same device name)
// is kept as the bucket had it, so that a lost journal does not erase the
// device's past, and a key both know keeps the earliest time it was live.
type ManifestWriter struct {
	Storage storage.Storage
	Journal *journal.Journal
	Keys    KeyTemplate
	// StateDir keeps the id this journal writes into the manifest (the
	// file manifest-writer, made at the first write): another id there
	// afterwards is another machine writing under the same device name.
	StateDir string
	Log      zerolog.Logger // warnings, each once

	writer string // the id; "" until read or made
	wrote  bool   // this state directory wrote the manifest before
	warned map[string]bool
}

// writerFile is the file in the state directory that holds the writer id.
const writerFile = "manifest-writer"

// Write brings the journal's live keys up to date and, when they changed
// or always is set, writes the device's manifest under the user's prefix
// in one PUT (a reader sees the old whole manifest or the new). wrote
// reports whether it did. A manifest of a newer format in the bucket is
// never written over: it is said once, and nothing is written.
func (w *ManifestWriter) Write(ctx context.Context, always bool) (wrote bool, err error) {
	now := time.Now()
	changed, err := w.Journal.SyncLiveKeys(ctx, now)
	if err != nil || (!changed && !always) {
		return false, err
	}
	m, err := w.Build(ctx, now)
	if manifest.IsNewer(err) {
		w.warnOnce("newer", "the manifest of "+w.Keys.Device+" is of a newer format: not replaced; upgrade cloudkeep")
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var buf bytes.Buffer
	if err := manifest.Encode(&buf, m); err != nil {
		return false, err
	}
	b := buf.Bytes()
	sum := sha256.Sum256(b)
	meta := storage.Meta{SHA256: hex.EncodeToString(sum[:]), MTime: now, Device: w.Keys.Device, ContentType: "application/gzip"}
	key := manifest.Key(w.Keys.UserPrefix(), w.Keys.Device)
	if _, err := w.Storage.Put(ctx, key, bytes.NewReader(b), int64(len(b)), crc32cOf(b), meta); err != nil {
		return false, err
	}
	if !w.wrote && w.StateDir != "" {
		if err := os.WriteFile(filepath.Join(w.StateDir, writerFile), []byte(w.writer+"\n"), 0o600); err != nil {
			w.warnOnce("writer", "could not keep the manifest's writer id in "+w.StateDir+": "+err.Error())
		}
	}
	w.wrote = true
	return true, nil
}

// Build is the manifest Write writes at now, from the journal's live keys
// as they are (SyncLiveKeys is not run) merged with the manifest in the
// bucket, read again each time: another writer's keys are not lost. Its
// error is a manifest.NewerError when the bucket's is of a newer format.
func (w *ManifestWriter) Build(ctx context.Context, now time.Time) (*manifest.Manifest, error) {
	w.loadWriter()
	key := manifest.Key(w.Keys.UserPrefix(), w.Keys.Device)
	old, err := readManifest(ctx, w.Storage, key)
	switch {
	case manifest.IsNewer(err):
		return nil, err
	case err != nil && ctx.Err() == nil && !isStorageError(err):
		w.warnOnce("unreadable", "the manifest of "+w.Keys.Device+" in the storage cannot be read ("+err.Error()+"): it is replaced")
		old = nil
	case err != nil:
		return nil, err
	}
	if old != nil && old.Writer != "" && old.Writer != w.writer && w.wrote {
		w.warnOnce("writer", "another machine writes the manifest of device "+w.Keys.Device+" (writer "+old.Writer+"): give each machine its own device.name")
	}
	m, err := BuildManifest(ctx, w.Journal, w.Keys.Device, now)
	if err != nil {
		return nil, err
	}
	m.Writer = w.writer
	if old != nil {
		forgotten, err := w.Journal.ForgottenKeys(ctx)
		if err != nil {
			return nil, err
		}
		m.Keys = merged(m.Keys, old.Keys, forgotten)
	}
	return m, nil
}

// loadWriter reads the writer id from the state directory, or makes one.
func (w *ManifestWriter) loadWriter() {
	if w.writer != "" {
		return
	}
	if w.StateDir != "" {
		if b, err := os.ReadFile(filepath.Join(w.StateDir, writerFile)); err == nil && len(bytes.TrimSpace(b)) > 0 {
			w.writer, w.wrote = string(bytes.TrimSpace(b)), true
			return
		}
	}
	var r [8]byte
	rand.Read(r[:])
	w.writer = hex.EncodeToString(r[:])
}

func (w *ManifestWriter) warnOnce(what, msg string) {
	if w.warned[what] {
		return
	}
	if w.warned == nil {
		w.warned = map[string]bool{}
	}
	w.warned[what] = true
	w.Log.Warn().Str("device", w.Keys.Device).Msg(msg)
}

// decodeError is a manifest that was read but could not be decoded.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

// isStorageError reports whether err is a failure to read, not a manifest
// that cannot be decoded.
func isStorageError(err error) bool {
	var d *decodeError
	return !errors.As(err, &d)
}

// readManifest reads the manifest at key; nil when there is none. A
// manifest that cannot be decoded is a *decodeError (a newer format, also
// a manifest.NewerError).
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
		return nil, &decodeError{err}
	}
	return m, err
}

// merged is local, sorted by key, with the entries of foreign whose keys
// local does not have and that were not forgotten (pruned). A key both
// have keeps foreign's spans that ended before local's first began, and
// begins when foreign had it begin when that is earlier.
func merged(local, foreign []manifest.Entry, forgotten map[string]bool) []manifest.Entry {
	out := local
	for _, e := range foreign {
		i, ok := slices.BinarySearchFunc(local, e.Key, func(a manifest.Entry, k string) int { return strings.Compare(a.Key, k) })
		switch {
		case !ok && !forgotten[e.Key]:
			out = append(out, e)
		case ok && len(local[i].Live) > 0:
			l := &out[i] // out begins with local
			first := l.Live[0].From
			var before []manifest.Span
			for _, s := range e.Live {
				switch {
				case s.To != 0 && s.To <= first:
					before = append(before, s)
				case s.From < first:
					l.Live[0].From = s.From
				}
			}
			if len(before) > 0 {
				l.Live = append(before, l.Live...)
			}
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
