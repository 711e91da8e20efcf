package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/manifest"
	"github.com/cloudkeep/cloudkeep/storage"
)

// ManifestsFolder is where the devices' manifests lie below the account's
// prefix: not backed-up files.
const ManifestsFolder = ".cloudkeep/"

// isHidden reports whether key lies in a folder of cloudkeep's own
// (thumbnails, manifests), not a backed-up file.
func isHidden(key string) bool {
	return isThumbnail(key) || strings.HasPrefix(key, ManifestsFolder) || strings.Contains(key, "/"+ManifestsFolder)
}

// writtenMargin is how long before the storage stored a manifest it may
// have been made: a key stored within it is taken as newer than the
// manifest (kept) rather than as gone.
const writtenMargin = time.Minute

// Manifests reads the manifests of the account's devices below base
// ("alice/"). Each one's Written is when the storage stored it (less
// writtenMargin), on the storage's clock as the objects' times are: the
// device's clock need not agree, and listed times are whole seconds. A
// manifest that cannot be decoded is left out of the set (its device is
// then taken whole, as with no manifest) and named in unreadable, with
// why; only a storage failure fails the whole.
func Manifests(ctx context.Context, st storage.Storage, base string) (set manifest.Set, unreadable map[string]error, err error) {
	var objs []storage.Object
	prefix := base + manifest.Folder
	err = st.List(ctx, prefix, func(o storage.Object) error {
		if _, ok := manifest.DeviceOf(o.Key); ok && !strings.Contains(o.Key[len(prefix):], "/") {
			objs = append(objs, o)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	set, unreadable = manifest.Set{}, map[string]error{}
	for _, o := range objs {
		d, _ := manifest.DeviceOf(o.Key)
		m, bad, err := readManifest(ctx, st, o.Key)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue // removed since it was listed
		case err != nil:
			return nil, nil, fmt.Errorf("%s: %w", o.Key, err)
		case bad != nil:
			unreadable[d] = fmt.Errorf("%s: %w", o.Key, bad)
			continue
		}
		if !o.LastModified.IsZero() {
			m.Written = o.LastModified.Add(-writtenMargin)
		}
		set[d] = m
	}
	return set, unreadable, nil
}

// readManifest reads the manifest at key; bad is why it cannot be decoded,
// err a failure of the storage.
func readManifest(ctx context.Context, st storage.Storage, key string) (m *manifest.Manifest, bad, err error) {
	r, err := st.Get(ctx, key, 0)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	m, bad = manifest.Decode(r)
	if bad != nil && ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	return m, bad, nil
}

// State selects the items of the devices' state at the instant at (zero:
// now), as the manifests tell it. It keeps every item of a device that has
// no manifest, and names those devices.
type State struct {
	Set manifest.Set
	At  time.Time
	// Unreadable are the devices whose manifest could not be read, and
	// why: their items are all kept, as with no manifest.
	Unreadable map[string]error
	// Unknown are the devices whose items were kept for want of a
	// manifest, sorted; "" for items of no known device.
	Unknown []string
	// Left counts the items left out as deleted or renamed away by At;
	// LeftBy by device. NotYet counts those left out as stored after At
	// (none of them existed on its device then).
	Left   int
	LeftBy map[string]int
	NotYet int
}

// Keep reports whether the state holds it.
func (s *State) Keep(it Item) bool {
	held, known := s.Set.Holds(it.Key, it.Device, it.Stored, s.At)
	if _, bad := s.Unreadable[it.Device]; !known && !bad && !slices.Contains(s.Unknown, it.Device) {
		s.Unknown = append(s.Unknown, it.Device)
		slices.Sort(s.Unknown)
	}
	switch {
	case held:
	case s.later(it):
		s.NotYet++
	default:
		s.Left++
		if s.LeftBy == nil {
			s.LeftBy = map[string]int{}
		}
		s.LeftBy[it.Device]++
	}
	return held
}

// later reports whether it, not held at At, came to be after At: its
// device's manifest holds it first after At, or does not hold it and it
// was stored after At.
func (s *State) later(it Item) bool {
	if s.At.IsZero() {
		return false
	}
	if m := s.Set[it.Device]; m != nil {
		if e, ok := m.Find(it.Key); ok && len(e.Live) > 0 {
			return e.Live[0].From > s.At.UnixNano()
		}
	}
	return it.Stored.After(s.At)
}

// Missing returns, by device, the keys under prefix that the state holds
// but seen (the keys listed) does not: objects the storage no longer has.
func (s *State) Missing(prefix string, seen map[string]bool) map[string][]string {
	out := map[string][]string{}
	for d, m := range s.Set {
		for _, e := range m.Keys {
			live := (s.At.IsZero() && e.LiveNow()) || (!s.At.IsZero() && e.LiveAt(s.At))
			if live && strings.HasPrefix(e.Key, prefix) && !seen[e.Key] && !isHidden(e.Key) {
				out[d] = append(out[d], e.Key)
			}
		}
	}
	return out
}
