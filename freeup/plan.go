package freeup

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/media"
	"github.com/cloudkeep/cloudkeep/storage"
)

// Root is a watched folder: its name in the journal and its path.
type Root struct{ Name, Path string }

// Scope is what a free-up looks at.
type Scope struct {
	// OlderThan keeps files taken (or, when that is unknown, modified)
	// less than this long before Now; 0 takes any age.
	OlderThan time.Duration
	Now       time.Time
	// Root, when set, limits to that root; Dir then to that folder inside
	// it (slash-separated; "" the whole root).
	Root, Dir string
}

// Reason is why a file is kept. The empty reason: it can be freed.
type Reason string

// Why a file is kept, as the summary says it.
const (
	NotBackedUp   Reason = "not backed up yet"
	LeftOut       Reason = "left out of the backup"
	Changed       Reason = "changed since its backup"
	NotOnDisk     Reason = "not on the disk"
	Unreadable    Reason = "could not be read"
	RemoteMissing Reason = "remote copy missing"
	RemoteDiffers Reason = "remote copy differs"
	PartnerKept   Reason = "a file of its group is kept"
	Symlink       Reason = "a symbolic link"
	HardLinked    Reason = "other hard links hold it: no space would be freed"
	// PartnerUnproven: a file on the disk whose name ties it to the group
	// (media.GroupStem) is not in the journal to prove: excluded by
	// media.exclude, or new since the last scan. Its Detail names it.
	PartnerUnproven Reason = "a file of its group is not backed up"
)

// Item is one file weighed.
type Item struct {
	journal.File
	Abs  string
	When time.Time // taken, or modified when that is unknown
	// Seen is the identity the proof read the file with, Ctime its status
	// change time then (ns; 0 where the system has none).
	Seen  journal.Identity
	Ctime int64
	// Reason is why the file is kept; "" when it may be freed.
	Reason Reason
	// Detail says more of the reason, for -v.
	Detail string
	// Group ties the files freed together or not at all: folder and
	// media.GroupStem.
	Group string
}

// Plan is the outcome of the proof: what may be freed, what is kept.
type Plan struct {
	Free []Item
	Kept []Item
	// Recent counts the files left out because they are younger than
	// Scope.OlderThan.
	Recent int
}

// Bytes is the size of the files to free.
func (p Plan) Bytes() int64 {
	var n int64
	for _, it := range p.Free {
		n += it.Size
	}
	return n
}

// KeptBy counts the kept files by reason.
func (p Plan) KeptBy() map[Reason]int {
	m := map[Reason]int{}
	for _, it := range p.Kept {
		m[it.Reason]++
	}
	return m
}

// Prover proves backups.
type Prover struct {
	Journal *journal.Journal
	Storage storage.Storage
	Roots   []Root
	// Workers is how many files are proven at once; 4 when 0.
	Workers int
	// ReadBack reads each object back and hashes it, rather than trust
	// the checksum the storage recorded when it got it: slow, and it
	// finds bytes rotten on the storage's disk since.
	ReadBack bool
}

// Plan weighs the files of scope: a file may be freed when it is stored
// (done), unchanged since (its identity and a SHA-256 of it taken now
// match the journal), and its object is in the storage with its size, that
// SHA-256 in its metadata and the same bytes (its full-object CRC32C, or,
// for an object that has none, its content read back). The files of one
// group (a Live Photo's still and video, a RAW and its JPEG) are freed
// together or not at all. A storage that does not answer ends the plan
// with an error: nothing is freed on a guess.
func (p *Prover) Plan(ctx context.Context, sc Scope) (Plan, error) {
	var groups [][]*Item
	var out Plan
	for _, r := range p.Roots {
		if sc.Root != "" && sc.Root != r.Name {
			continue
		}
		rows, err := p.Journal.Locals(ctx, r.Name)
		if err != nil {
			return Plan{}, err
		}
		g, recent := inScope(r, rows, sc)
		groups = append(groups, g...)
		out.Recent += recent
	}
	var items []*Item
	listed := map[string][]os.DirEntry{}
	for _, g := range groups {
		keepUnlisted(g, listed)
		items = append(items, g...)
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(cmp.Or(p.Workers, 4))
	for _, it := range items {
		if it.Reason != "" {
			continue
		}
		eg.Go(func() error { return p.prove(ectx, it) })
	}
	if err := eg.Wait(); err != nil {
		return Plan{}, err
	}
	for _, g := range groups {
		kept := slices.IndexFunc(g, func(it *Item) bool { return it.Reason != "" })
		for _, it := range g {
			if kept >= 0 && it.Reason == "" {
				it.Reason, it.Detail = PartnerKept, g[kept].Path+": "+string(g[kept].Reason)
			}
			if it.Reason == "" {
				out.Free = append(out.Free, *it)
			} else {
				out.Kept = append(out.Kept, *it)
			}
		}
	}
	return out, nil
}

// Recheck reads the files of p.Free again, as Plan did, and keeps with
// their groups those no longer as proven: for a plan that waited long (a
// confirmation) before the move, in which a file may have been edited.
func Recheck(p Plan) Plan {
	changed := map[string]string{}
	for i := range p.Free {
		it := &p.Free[i]
		d, err := digestFile(it.Abs)
		if err != nil || !d.id.Equal(it.Seen) || d.sha256 != it.SHA256 {
			changed[it.Group] = it.Path
			continue
		}
		it.Ctime = d.ctime
	}
	if len(changed) == 0 {
		return p
	}
	out := Plan{Kept: p.Kept, Recent: p.Recent}
	for _, it := range p.Free {
		switch by, ok := changed[it.Group]; {
		case !ok:
			out.Free = append(out.Free, it)
		case by == it.Path:
			it.Reason, it.Detail = Changed, "it changed while free-up waited"
			out.Kept = append(out.Kept, it)
		default:
			it.Reason, it.Detail = PartnerKept, by+": "+string(Changed)
			out.Kept = append(out.Kept, it)
		}
	}
	return out
}

// keepUnlisted keeps the whole group g when its folder holds a file of
// the group that is not in it (not in the journal, or deleted there): a
// group is freed all or nothing over the files on the disk. listed caches
// the folders read.
func keepUnlisted(g []*Item, listed map[string][]os.DirEntry) {
	dir := filepath.Dir(g[0].Abs)
	entries, ok := listed[dir]
	if !ok {
		entries, _ = os.ReadDir(dir) // an unreadable folder: its files fail their proof
		listed[dir] = entries
	}
	stem := media.GroupStem(g[0].Path)
	for _, e := range entries {
		if e.IsDir() || media.GroupStem(e.Name()) != stem ||
			slices.ContainsFunc(g, func(it *Item) bool { return filepath.Base(it.Abs) == e.Name() }) {
			continue
		}
		for _, it := range g {
			if it.Reason == "" {
				it.Reason, it.Detail = PartnerUnproven, e.Name()
			}
		}
		return
	}
}

// inScope groups the rows of root r (media.GroupStem in one folder) and
// returns the groups in scope: in the folder asked for, and whose newest
// file is older than asked; and how many files were too young. A file not
// stored gets its reason already.
func inScope(r Root, rows []journal.Local, sc Scope) ([][]*Item, int) {
	byGroup := map[string][]*Item{}
	var order []string
	for _, l := range rows {
		if sc.Dir != "" && !strings.HasPrefix(l.Path, sc.Dir+"/") {
			continue
		}
		k := r.Name + "\x00" + path.Dir(l.Path) + "\x00" + media.GroupStem(l.Path)
		it := &Item{File: l.File, Abs: filepath.Join(r.Path, filepath.FromSlash(l.Path)), When: cmp.Or(l.Capture, l.MTime), Group: k}
		switch l.State {
		case journal.Done:
		case journal.Skipped:
			it.Reason, it.Detail = LeftOut, l.LastError
		case journal.Failed:
			it.Reason, it.Detail = NotBackedUp, "failed: "+l.LastError
		default:
			it.Reason, it.Detail = NotBackedUp, string(l.State)
		}
		if _, ok := byGroup[k]; !ok {
			order = append(order, k)
		}
		byGroup[k] = append(byGroup[k], it)
	}
	var out [][]*Item
	recent := 0
	for _, k := range order {
		g := byGroup[k]
		newest := slices.MaxFunc(g, func(a, b *Item) int { return a.When.Compare(b.When) }).When
		if sc.OlderThan > 0 && sc.Now.Sub(newest) < sc.OlderThan {
			recent += len(g)
			continue
		}
		out = append(out, g)
	}
	return out, recent
}

// prove sets it.Reason when its file may not be freed. Only a storage
// that does not answer is an error.
func (p *Prover) prove(ctx context.Context, it *Item) error {
	if fi, err := os.Lstat(it.Abs); err == nil {
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			it.Reason = Symlink
			return nil
		case fi.Mode().IsRegular() && linksOf(fi) > 1:
			it.Reason, it.Detail = HardLinked, fmt.Sprintf("%d names", linksOf(fi))
			return nil
		}
	}
	d, err := digestFile(it.Abs)
	var ce *changedError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		it.Reason = NotOnDisk
		return nil
	case errors.As(err, &ce):
		it.Reason, it.Detail = Changed, ce.Error()
		return nil
	case err != nil:
		it.Reason, it.Detail = Unreadable, err.Error()
		return nil
	}
	it.Seen, it.Ctime = d.id, d.ctime
	if !d.id.Equal(it.Identity) {
		it.Reason, it.Detail = Changed, "its size, time or inode differ from the journal's"
		return nil
	}
	if d.sha256 != it.SHA256 {
		it.Reason, it.Detail = Changed, "its content differs from the one stored"
		return nil
	}
	o, err := p.Storage.Stat(ctx, it.Key)
	if errors.Is(err, storage.ErrNotFound) {
		it.Reason, it.Detail = RemoteMissing, it.Key
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s in the storage: %w", it.Key, err)
	}
	it.Reason, it.Detail = p.compare(ctx, it, o, d)
	return nil
}

// compare checks the object o against the file's digest d.
func (p *Prover) compare(ctx context.Context, it *Item, o storage.Object, d digest) (Reason, string) {
	switch {
	case o.Size != it.Size:
		return RemoteDiffers, fmt.Sprintf("%s: %d bytes, the file %d", it.Key, o.Size, it.Size)
	case o.Meta.SHA256 == "":
		return RemoteDiffers, it.Key + ": no sha256 in its metadata"
	case o.Meta.SHA256 != d.sha256:
		return RemoteDiffers, it.Key + ": another sha256 in its metadata"
	case o.FullObject && o.CRC32C != "" && !p.ReadBack:
		if o.CRC32C != d.crc32c {
			return RemoteDiffers, it.Key + ": its bytes differ (CRC32C)"
		}
		return "", ""
	}
	// No whole-object checksum to compare, or --read-back: read the
	// object back.
	sum, err := p.remoteSHA256(ctx, it.Key)
	if err != nil {
		return RemoteDiffers, it.Key + ": could not read it back: " + err.Error()
	}
	if sum != d.sha256 {
		return RemoteDiffers, it.Key + ": its bytes differ (SHA-256)"
	}
	return "", ""
}

func (p *Prover) remoteSHA256(ctx context.Context, key string) (string, error) {
	body, err := p.Storage.Get(ctx, key, 0)
	if err != nil {
		return "", err
	}
	defer body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, body); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digest is what a read of a whole file found.
type digest struct {
	id             journal.Identity
	ctime          int64
	sha256, crc32c string
}

// changedError means a file changed while it was read.
type changedError struct{ path string }

func (e *changedError) Error() string { return e.path + " changed while it was read" }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// digestFile reads the whole file at path and returns its SHA-256 and
// CRC32C with its identity, the same before and after the read.
func digestFile(path string) (digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return digest{}, err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return digest{}, err
	}
	if !before.Mode().IsRegular() {
		return digest{}, fmt.Errorf("%s is not a regular file", path)
	}
	h, c := sha256.New(), crc32.New(castagnoli)
	if _, err := io.Copy(io.MultiWriter(h, c), f); err != nil {
		return digest{}, err
	}
	after, err := os.Stat(path)
	if err != nil {
		return digest{}, err
	}
	id := journal.IdentityOf(before)
	if !journal.IdentityOf(after).Equal(id) || ctimeOf(after) != ctimeOf(before) {
		return digest{}, &changedError{path}
	}
	crc := binary.BigEndian.AppendUint32(nil, c.Sum32())
	return digest{id: id, ctime: ctimeOf(before), sha256: hex.EncodeToString(h.Sum(nil)), crc32c: base64.StdEncoding.EncodeToString(crc)}, nil
}
