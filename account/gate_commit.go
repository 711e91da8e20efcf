package account

import (
	"context"
	"maps"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

// listSpan bounds the entries one folder's listing reads for a batch of
// commits; keys not met by then are read with a HEAD each.
const listSpan = 4000

// listSlack is how many entries more than the keys a listing page asks
// for, for other objects between them.
const listSlack = 16

// commits counts the objects of a request's commit ops (at indexes idx of
// ops) the cheap way: the commits of a folder are checked with one
// listing, and those whose listed size is the size a put grant reserved
// are indexed with that grant's metadata, all in one transaction. Any
// other commit (alone in its folder, not listed, of another size, or
// whose grant is unknown) is checked with a HEAD, as commit does.
func (g *Gate) commits(ctx context.Context, c Caller, ops []wire.Op, idx []int, res []wire.Result) {
	keys := make([]string, len(idx))
	for n, i := range idx {
		keys[n] = ops[i].Key
	}
	listed := g.listKeys(ctx, c, keys)
	grants, err := g.putGrants(ctx, c, listed)
	if err != nil {
		g.log.Warn().Err(err).Str("account", c.AccountID).Msg("commit without listing")
		grants = nil
	}
	var rows []StoredObject
	var release []string
	var fast, slow []int
	for _, i := range idx {
		info, ok := listed[ops[i].Key]
		r, known := Reservation{}, false
		if ok {
			r, known = grants[putHold(info.Key, info.Size)]
		}
		if !known {
			slow = append(slow, i)
			continue
		}
		o := grantedObject(r, info)
		res[i] = wire.Result{Object: &o}
		rows = append(rows, g.indexRow(c, o))
		release = append(release, r.ID)
		fast = append(fast, i)
	}
	if len(rows) > 0 {
		if err := g.store.PutObjects(ctx, c.AccountID, rows, release); err != nil {
			fail := g.storageError(c, "index", ops[fast[0]].Key, err)
			for _, i := range fast {
				res[i] = fail
			}
		}
		g.log.Debug().Str("account", c.AccountID).Int("objects", len(rows)).Msg("objects counted from a listing")
	}
	var grp errgroup.Group
	grp.SetLimit(controlParallel)
	for _, i := range slow {
		grp.Go(func() error {
			res[i] = g.commit(ctx, c, ops[i])
			return nil
		})
	}
	grp.Wait()
}

// grantedObject is the object the put grant r stored, as a listing
// found it.
func grantedObject(r Reservation, info minio.ObjectInfo) wire.Object {
	o := *r.Grant
	o.Key, o.Size, o.ETag, o.LastModified = info.Key, info.Size, info.ETag, info.LastModified
	return o
}

// indexRow is the index row of the account's object o.
func (g *Gate) indexRow(c Caller, o wire.Object) StoredObject {
	return storedObject(c.AccountID, o, g.now())
}

// putGrants returns the put reservations, by ID, that the listed objects
// would have been stored under, for those whose grant is known.
func (g *Gate) putGrants(ctx context.Context, c Caller, listed map[string]minio.ObjectInfo) (map[string]Reservation, error) {
	if len(listed) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(listed))
	for _, info := range listed {
		ids = append(ids, putHold(info.Key, info.Size))
	}
	rs, err := g.store.Reservations(ctx, c.AccountID, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Reservation, len(rs))
	for _, r := range rs {
		if r.Grant != nil {
			out[r.ID] = r
		}
	}
	return out, nil
}

// listKeys finds keys on the storage with one listing per folder that
// holds two or more of them (a few folders at a time), and returns what it
// found by key. A key alone in its folder is left to a HEAD, which costs
// less than a listing.
func (g *Gate) listKeys(ctx context.Context, c Caller, keys []string) map[string]minio.ObjectInfo {
	byFolder := map[string][]string{}
	for _, k := range keys {
		dir := k[:strings.LastIndex(k, "/")+1]
		byFolder[dir] = append(byFolder[dir], k)
	}
	var mu sync.Mutex
	found := map[string]minio.ObjectInfo{}
	var grp errgroup.Group
	grp.SetLimit(controlParallel)
	for dir, ks := range byFolder {
		if len(ks) < 2 {
			continue
		}
		grp.Go(func() error {
			listed := g.listFolder(ctx, c, dir, ks)
			mu.Lock()
			defer mu.Unlock()
			maps.Copy(found, listed)
			return nil
		})
	}
	grp.Wait()
	return found
}

// listFolder lists the folder dir (not its subfolders) from just before
// the first of keys to the last, at most listSpan entries, and returns
// the keys it meets.
func (g *Gate) listFolder(ctx context.Context, c Caller, dir string, keys []string) map[string]minio.ObjectInfo {
	found := make(map[string]minio.ObjectInfo, len(keys))
	want := make(map[string]bool, len(keys))
	first, last := keys[0], keys[0]
	for _, k := range keys {
		want[k] = true
		first, last = min(first, k), max(last, k)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A prefix of first sorts before it: start after the key without its
	// last character.
	_, n := utf8.DecodeLastRuneInString(first)
	// The storage reads every entry of a page: ask for about as many as
	// there are keys, since keys committed together mostly lie together.
	opts := minio.ListObjectsOptions{Prefix: dir, StartAfter: first[:len(first)-n], MaxKeys: min(len(keys)+listSlack, 1000)}
	seen, left := 0, len(want)
	for info := range g.client.ListObjects(ctx, g.cfg.Bucket, opts) {
		if info.Err != nil {
			g.log.Warn().Err(info.Err).Str("account", c.AccountID).Str("prefix", dir).Msg("list for commits")
			return found
		}
		if want[info.Key] {
			info.ETag = strings.Trim(info.ETag, `"`)
			found[info.Key] = info
			left--
		}
		if seen++; left == 0 || seen >= listSpan || info.Key >= last {
			break
		}
	}
	return found
}

// signedPut is what a put grant signs, kept with its reservation: the
// storage stores under the grant's URL only a body of this size and
// checksum, with these metadata headers.
func signedPut(op wire.Op) *wire.Object {
	if op.Op != wire.OpPut {
		return nil
	}
	o := &wire.Object{CRC32C: op.CRC32C, ChecksumType: "FULL_OBJECT"}
	if op.Meta != nil {
		o.Meta = *op.Meta
	}
	return o
}
