// Package verify compares three views of a device's backup — the files on
// its disk, its journal and what the storage lists under its key prefix —
// and names every difference with a reason. It only compares: the views
// are read by its callers (`cloudkeep verify`, the agent's light verify).
package verify

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

// Reason is why a file or an object is named.
type Reason string

// The reasons, as printed.
const (
	// NotUploaded: a file that should be stored is not (failed, pending,
	// not tracked yet), or is left out on purpose (excluded, skipped).
	NotUploaded Reason = "not_uploaded"
	// MissingRemote: the journal says stored (or freed), the object is gone.
	MissingRemote Reason = "missing_remote"
	// SizeMismatch: the object's size differs from the file's as stored.
	SizeMismatch Reason = "size_mismatch"
	// HashMismatch: the object's SHA-256 (its metadata) differs from the
	// journal's, or the object was replaced without one; with --deep, also
	// a local file whose content differs from what was stored.
	HashMismatch Reason = "hash_mismatch"
	// RemoteOnly: an object under the device's prefix no journal row holds.
	// Not a failure.
	RemoteOnly Reason = "remote_only"
)

// Reasons lists the reasons in the order they are counted and printed.
var Reasons = []Reason{NotUploaded, MissingRemote, SizeMismatch, HashMismatch, RemoteOnly}

// Finding is one difference.
type Finding struct {
	Reason Reason `json:"reason"`
	Path   string `json:"path,omitempty"` // the local file, when there is one
	Key    string `json:"key,omitempty"`  // the object key, when there is one
	Detail string `json:"detail"`
	// Failing says the backup is not whole because of it: what should be
	// stored is not. Excluded and skipped files and remote_only objects
	// are not failures.
	Failing bool `json:"failing"`
	// Repair says that `verify --repair` uploads the file again; Root and
	// Rel name it.
	Repair bool   `json:"repair"`
	Root   string `json:"root,omitempty"`
	Rel    string `json:"rel,omitempty"`
	FileID int64  `json:"-"`
	// NewKey says the key holds another device's file: the repair stores
	// this one under a new key and leaves that object alone.
	NewKey bool `json:"new_key,omitempty"`
	// Reread is the SHA-256 of the object's bytes when --deep read them
	// back and found them other than its metadata says: the metadata is
	// set right before a repair, so that the upload replaces the object.
	Reread string `json:"-"`
	// damaged: --deep found the local file's bytes other than stored
	// under the same size and time.
	damaged bool
}

// Local is a file met on a walk of the roots.
type Local struct {
	Root, Rel, Abs string
	journal.Identity
	Excluded string // why the filter leaves it out, e.g. `excluded by rule "**/cache/**"`; "" when it does not
	Err      error  // why it could not be read
	SHA256   string // its content's hash, with --deep
}

// Input is what Compare compares.
type Input struct {
	Rows    []journal.Row
	Objects []storage.Object // the listing under the device's prefix
	// Walked says Locals holds a walk of every root (cloudkeep verify);
	// false for the agent's light verify, which neither walks nor names
	// files that are not stored yet (the status says those).
	Walked bool
	Locals []Local
	Roots  map[string]string // root name → folder, to print local paths
	// Device, when set, keeps only the objects this device stored (a key
	// template without {device} shares the prefix with other devices).
	Device string
	// Reread, with --deep, returns the SHA-256 of an object's bytes: an
	// object whose ETag is not its upload's is read back instead of being
	// trusted by its metadata (another tool may have kept it). nil: the
	// metadata is trusted.
	Reread func(key string) (string, error)
}

// Report is what Compare found.
type Report struct {
	At      time.Time      `json:"at"`
	Tracked int            `json:"tracked_files"` // rows whose file is on the device or freed
	Stored  int            `json:"stored_files"`  // of those, stored (done or freed) and found whole
	Objects int            `json:"objects"`       // objects listed
	Counts  map[Reason]int `json:"counts"`        // findings by reason
	Failing int            `json:"failing"`       // findings that make the backup not whole
	// JournalEmpty says the journal holds no row while the storage holds
	// objects under the device's prefix: the journal was lost, and a
	// backup rebuilds it without sending again what is stored.
	JournalEmpty bool `json:"journal_empty"`
	// RootErrors are the watched folders that could not be walked: their
	// files are not named one by one. Each counts as failing.
	RootErrors []RootError `json:"root_errors"`
	Findings   []Finding   `json:"findings"`
}

// RootError is a watched folder verify could not walk.
type RootError struct {
	Path    string `json:"path"`
	Missing bool   `json:"missing"`
	Error   string `json:"error"`
}

// Line is how a RootError is printed: "root missing: /path".
func (e RootError) Line() string {
	if e.Missing {
		return "root missing: " + e.Path
	}
	return "root unreadable: " + e.Path + ": " + e.Error
}

// OK reports whether everything that should be stored is.
func (r Report) OK() bool { return r.Failing == 0 }

// Compare names every difference between the views in in.
func Compare(in Input) Report {
	rep := Report{Counts: map[Reason]int{}, Findings: []Finding{}, RootErrors: []RootError{}}
	for _, r := range Reasons {
		rep.Counts[r] = 0 // every key, for scripts
	}
	objects := make(map[string]storage.Object, len(in.Objects))
	others := map[string]storage.Object{} // objects another device stored
	for _, o := range in.Objects {
		if in.Device != "" && o.Meta.Device != "" && o.Meta.Device != in.Device {
			others[o.Key] = o
			continue
		}
		objects[o.Key] = o
	}
	rep.Objects = len(objects)
	rep.JournalEmpty = len(in.Rows) == 0 && slices.ContainsFunc(sortedKeys(objects), func(k string) bool { return !hidden(k) })
	held := make(map[string]bool, len(in.Rows))
	rows := make(map[string]*journal.Row, len(in.Rows))
	for i := range in.Rows {
		r := &in.Rows[i]
		if r.Key != "" {
			held[r.Key] = true
		}
		rows[r.Root+"/"+r.Path] = r
		if r.State != journal.Deleted {
			rep.Tracked++
		}
		if f, ok := compareRow(in, r, objects, others); ok {
			rep.add(f)
		} else if r.State == journal.Done || r.State == journal.Freed {
			rep.Stored++
		}
	}
	if in.Walked {
		for _, l := range in.Locals {
			if l.Rel == "" && l.Err != nil {
				rep.RootErrors = append(rep.RootErrors, RootError{Path: l.Abs, Missing: errors.Is(l.Err, fs.ErrNotExist), Error: l.Err.Error()})
				rep.Failing++
				continue
			}
			if f, ok := compareLocal(in, l, rows[l.Root+"/"+l.Rel]); ok {
				if rep.JournalEmpty && f.Repair {
					f.Repair, f.Detail = false, "not in the journal, which is empty: `cloudkeep backup` finds it if it is stored"
				}
				rep.add(f)
			}
		}
		keepDamaged(&rep, in)
	}
	for _, key := range sortedKeys(objects) {
		if !held[key] && !hidden(key) {
			o := objects[key]
			rep.add(Finding{Reason: RemoteOnly, Key: key, Detail: fmt.Sprintf("%d bytes, no journal row holds it", o.Size)})
		}
	}
	return rep
}

func (r *Report) add(f Finding) {
	r.Findings = append(r.Findings, f)
	r.Counts[f.Reason]++
	if f.Failing {
		r.Failing++
	}
}

// compareRow checks one row against the listing: a stored row's object
// must be there whole; a row not stored is named with why. others are the
// objects other devices stored under the shared prefix: a key one of them
// took (after this device's object was deleted) no longer holds this
// device's file, and is never replaced.
func compareRow(in Input, r *journal.Row, objects, others map[string]storage.Object) (Finding, bool) {
	f := Finding{Path: localPath(in, r.Root, r.Path), Key: r.Key, Root: r.Root, Rel: r.Path, FileID: r.ID, Failing: true}
	switch r.State {
	case journal.Done, journal.Freed:
		f.Repair = r.State == journal.Done
		o, ok := objects[r.Key]
		other, taken := others[r.Key]
		switch {
		case !ok && taken:
			f.Reason, f.NewKey = MissingRemote, true
			f.Detail = fmt.Sprintf("stored %s; the key now holds another device's file (%s)", day(r.UploadedAt), other.Meta.Device)
		case !ok:
			f.Reason, f.Detail = MissingRemote, fmt.Sprintf("stored %s, the object is gone", day(r.UploadedAt))
		case in.Device != "" && o.Meta.SHA256 != "" && o.Meta.SHA256 != r.SHA256 && (r.ETag == "" || o.ETag != r.ETag):
			f.Reason, f.NewKey = MissingRemote, true
			f.Detail = fmt.Sprintf("stored %s; the key now holds another file (sha256 %s, stored %s)", day(r.UploadedAt), short(o.Meta.SHA256), short(r.SHA256))
		case o.Size != r.Size:
			f.Reason, f.Detail = SizeMismatch, fmt.Sprintf("object %d bytes, file %d bytes", o.Size, r.Size)
		default:
			if why, sum := hashDiffers(in, r, o); why != "" {
				f.Reason, f.Detail, f.Reread = HashMismatch, why, sum
			} else {
				return Finding{}, false
			}
		}
		if r.State == journal.Freed {
			f.Detail += "; freed locally: restore it from the trash"
		}
		return f, true
	case journal.Pending, journal.Uploading, journal.Failed:
		if !in.Walked {
			return Finding{}, false // the light verify: the status names these
		}
		f.Reason, f.Repair = NotUploaded, true
		switch r.State {
		case journal.Failed:
			f.Detail = "failed: " + r.LastError
		case journal.Uploading:
			f.Detail = "uploading since " + stamp(r.UpdatedAt)
		default:
			f.Detail = "pending since " + stamp(r.UpdatedAt)
		}
		return f, true
	case journal.Skipped:
		if !in.Walked {
			return Finding{}, false
		}
		f.Reason, f.Failing, f.Detail = NotUploaded, false, "skipped: "+r.LastError
		return f, true
	}
	return Finding{}, false // deleted: the remote copy may stay or be pruned
}

// hashDiffers says why the object o does not hold the content r stored,
// or "" when it does as far as the listing tells. An object whose ETag is
// the one its upload returned is the object uploaded. Another ETag with
// the sha256 metadata r stored is the same content stored again (a copy
// on the server) unless in.Reread finds other bytes; without that
// metadata, another writer replaced it.
// It returns the hash of the bytes read back when they differ.
func hashDiffers(in Input, r *journal.Row, o storage.Object) (string, string) {
	switch {
	case r.ETag != "" && o.ETag == r.ETag:
		return "", ""
	case o.Meta.SHA256 == "":
		return "replaced by another writer: no sha256 in its metadata, ETag " + o.ETag + " (stored " + r.ETag + ")", ""
	case o.Meta.SHA256 != r.SHA256:
		return "sha256 " + short(o.Meta.SHA256) + " in its metadata, stored " + short(r.SHA256), ""
	case in.Reread == nil:
		return "", ""
	}
	sum, err := in.Reread(o.Key)
	switch {
	case err != nil:
		return "could not read it back: " + err.Error(), ""
	case sum != r.SHA256:
		return "its bytes hash to " + short(sum) + ", stored " + short(r.SHA256) + " (its metadata says " + short(o.Meta.SHA256) + "): replaced by another writer", sum
	}
	return "", ""
}

// compareLocal checks one file on the disk against its row: a media file
// the journal does not hold, or holds with another identity, is not
// stored yet.
func compareLocal(in Input, l Local, r *journal.Row) (Finding, bool) {
	f := Finding{Reason: NotUploaded, Path: l.Abs, Root: l.Root, Rel: l.Rel, Failing: true}
	if r != nil {
		f.FileID, f.Key = r.ID, r.Key
	}
	switch {
	case l.Err != nil:
		f.Detail = l.Err.Error()
	case l.Excluded != "" && (r == nil || r.State != journal.Done || !r.Identity.Equal(l.Identity)):
		f.Detail, f.Failing = l.Excluded, false
	case l.Excluded != "":
		return Finding{}, false // stored before the rule: kept
	case r == nil || r.State == journal.Deleted:
		f.Detail, f.Repair = "not in the journal: no scan has met it yet", true
	case r.State != journal.Done:
		return Finding{}, false // compareRow names it
	case !r.Identity.Equal(l.Identity):
		f.Detail, f.Repair = "changed since its upload "+stamp(r.UploadedAt), true
	case l.SHA256 != "" && l.SHA256 != r.SHA256:
		// Same size and time, other bytes: a disk error or a tool that
		// kept the time. Uploading it could replace a good backup with a
		// damaged file: the person decides.
		f.Reason, f.damaged = HashMismatch, true
		f.Detail = "the file's content differs from its backup (sha256 " + short(l.SHA256) + ", stored " +
			short(r.SHA256) + ") with the same size and time: check the file; restore it if it is damaged"
	default:
		return Finding{}, false
	}
	return f, true
}

// keepDamaged keeps --repair from uploading a file --deep found damaged
// (same size and time as stored, other bytes), whatever its object's
// state: that could replace or stand for a good backup. Its findings stay,
// and say where the bucket still holds its stored content.
func keepDamaged(rep *Report, in Input) {
	damaged := map[int64]bool{}
	for _, f := range rep.Findings {
		if f.damaged {
			damaged[f.FileID] = true
		}
	}
	if len(damaged) == 0 {
		return
	}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		if !damaged[f.FileID] {
			continue
		}
		f.Repair = false
		if f.Reason == HashMismatch {
			if key := storedElsewhere(in, f.FileID); key != "" {
				f.Detail += "; its stored content is also under " + key + ": `cloudkeep restore` can bring it back"
			}
		} else {
			f.Detail += "; not uploaded again: the file's content differs from its backup"
		}
	}
}

// storedElsewhere returns the key of another stored row of the same
// content as row id's whose object is listed whole, or "".
func storedElsewhere(in Input, id int64) string {
	var sum string
	for _, r := range in.Rows {
		if r.ID == id {
			sum = r.SHA256
		}
	}
	listed := map[string]int64{}
	for _, o := range in.Objects {
		listed[o.Key] = o.Size
	}
	for _, r := range in.Rows {
		if size, ok := listed[r.Key]; ok && r.ID != id && sum != "" && r.SHA256 == sum && size == r.Size &&
			(r.State == journal.Done || r.State == journal.Freed || r.State == journal.Deleted) {
			return r.Key
		}
	}
	return ""
}

// hidden reports whether a key lies in a hidden folder or names a hidden
// file (.thumbs/, .cloudkeep/): never media.
func hidden(key string) bool {
	return slices.ContainsFunc(strings.Split(key, "/"), func(s string) bool { return strings.HasPrefix(s, ".") })
}

func localPath(in Input, root, rel string) string {
	if dir, ok := in.Roots[root]; ok {
		return filepath.Join(dir, filepath.FromSlash(rel))
	}
	return path.Join(root, rel)
}

func sortedKeys(m map[string]storage.Object) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	if sum == "" {
		return "(none)"
	}
	return sum
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "(unknown)"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func day(t time.Time) string {
	if t.IsZero() {
		return "earlier"
	}
	return t.Local().Format("2006-01-02")
}
