package restore

import (
	"context"
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
// device's clock need not agree, and listed times are whole seconds.
func Manifests(ctx context.Context, st storage.Storage, base string) (manifest.Set, error) {
	var objs []storage.Object
	prefix := base + manifest.Folder
	err := st.List(ctx, prefix, func(o storage.Object) error {
		if _, ok := manifest.DeviceOf(o.Key); ok && !strings.Contains(o.Key[len(prefix):], "/") {
			objs = append(objs, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	set := manifest.Set{}
	for _, o := range objs {
		m, err := readManifest(ctx, st, o.Key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Key, err)
		}
		if !o.LastModified.IsZero() {
			m.Written = o.LastModified.Add(-writtenMargin)
		}
		d, _ := manifest.DeviceOf(o.Key)
		set[d] = m
	}
	return set, nil
}

func readManifest(ctx context.Context, st storage.Storage, key string) (*manifest.Manifest, error) {
	r, err := st.Get(ctx, key, 0)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return manifest.Decode(r)
}

// State selects the items of the devices' state at the instant at (zero:
// now), as the manifests tell it. It keeps every item of a device that has
// no manifest, and names those devices.
type State struct {
	Set manifest.Set
	At  time.Time
	// Unknown are the devices whose items were kept for want of a
	// manifest, sorted; "" for items of no known device.
	Unknown []string
	// Left counts the items left out: not held at At.
	Left int
}

// Keep reports whether the state holds it.
func (s *State) Keep(it Item) bool {
	held, known := s.Set.Holds(it.Key, it.Device, it.Stored, s.At)
	if !known && !slices.Contains(s.Unknown, it.Device) {
		s.Unknown = append(s.Unknown, it.Device)
		slices.Sort(s.Unknown)
	}
	if !held {
		s.Left++
	}
	return held
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
