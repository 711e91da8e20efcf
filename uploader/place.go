package uploader

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/cloudkeep/cloudkeep/journal"
	"github.com/cloudkeep/cloudkeep/storage"
)

// Claim reserves key for the file of a job, whose content has the SHA-256
// sha256, before anything is written there. It answers Held when another
// file's content is at key or on its way there (the journal knows it),
// Own when the file's own earlier content is there (replacing it updates
// this file's backup), Free otherwise.
type Claim func(ctx context.Context, key, sha256 string) (Hold, error)

// Hold is what a Claim found at a key.
type Hold int

// The answers of a Claim.
const (
	Free Hold = iota // no file the journal knows holds the key: an object there is kept unless it holds this content
	Own              // the file's earlier content is there: it is replaced
	Held             // another file's content is there, or being sent there
)

// Suffixed returns key with the first n hex digits of sha256 (the file's
// content) before the extension of its last segment: "a/IMG_1.JPG" →
// "a/IMG_1~1f2e3d4c.JPG". A file whose key holds another file's content
// goes there instead: the same content always gets the same key, and never
// replaces another.
func Suffixed(key, sha256 string, n int) string {
	n = min(n, len(sha256))
	dir, name := "", key
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		dir, name = key[:i+1], key[i+1:]
	}
	ext := path.Ext(name)
	if ext == name {
		ext = "" // ".hidden" is a name, not an extension
	}
	return dir + strings.TrimSuffix(name, ext) + "~" + sha256[:n] + ext
}

// candidates are the keys a file of content sha256 may take, in order:
// key, then key suffixed with 8, 16 and all 64 hex digits of its hash
// (two different contents with the same 8 first digits are rare, not
// impossible).
func candidates(key, sha256 string) []string {
	out := []string{key}
	if sha256 == "" {
		return out
	}
	for _, n := range []int{8, 16, 64} {
		out = append(out, Suffixed(key, sha256, n))
	}
	return out
}

// mayTake reports whether key is one of the keys job's file of content
// sha256 may take: a multipart upload begun under a suffixed key resumes
// there.
func (job Job) mayTake(key, sha256 string) bool {
	if key == job.Key {
		return true
	}
	return job.Claim != nil && slices.Contains(candidates(job.Key, sha256), key)
}

// place returns the key job's file goes to, whose digest is d, whether
// that key already holds the same content (with the object's ETag), and
// what Claim answered for it. Without job.Claim it is job.Key, Own. With
// one it is the first candidate that neither the journal (Claim) nor the
// bucket shows holding another content, unless that content is the
// file's own earlier one: a changed file replaces its own object, and
// never another file's.
func (u *Uploader) place(ctx context.Context, job Job, id journal.Identity, d digest) (string, string, bool, Hold, error) {
	digestOf := func() (digest, error) { return d, nil }
	if job.Claim == nil {
		if !u.mayBeStored(ctx, job, id.Size) {
			return job.Key, "", false, Own, nil
		}
		etag, _, ok, err := u.stored(ctx, job.Key, id, digestOf)
		return job.Key, etag, ok, Own, err
	}
	for _, key := range candidates(job.Key, d.sha256) {
		h, err := job.Claim(ctx, key, d.sha256)
		if err != nil {
			return "", "", false, Held, err
		}
		if h == Held {
			u.log.Debug().Str("key", key).Msg("another file holds this key")
			continue
		}
		at, etag, err := u.heldAt(ctx, job, key, id, digestOf)
		switch {
		case err != nil:
			return "", "", false, Held, err
		case at == sameObject:
			u.log.Debug().Str("key", key).Msg("already stored with the same content")
			return key, etag, true, h, nil
		case at == noObject:
			return key, "", false, h, nil
		case h == Own:
			mine, err := u.ownObject(ctx, job, key)
			if err != nil {
				return "", "", false, Held, err
			}
			if mine {
				return key, "", false, h, nil
			}
		}
		u.log.Debug().Str("key", key).Msg("the bucket holds another content under this key")
	}
	return "", "", false, Held, &PermanentError{Err: fmt.Errorf("no free key for %s: %s and its suffixed forms hold other files", job.Path, job.Key)}
}

// ownObject reports whether the object at key, which the journal says
// holds job's file's earlier content, is this device's to replace. Under
// keys other devices share, the object may have gone behind this device's
// back and another device's file taken the key since: that one is never
// replaced, and the file goes to a suffixed key.
func (u *Uploader) ownObject(ctx context.Context, job Job, key string) (bool, error) {
	if !job.Shared {
		return true, nil
	}
	info, err := u.st.Stat(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return true, nil
	case err != nil:
		return false, err
	}
	if info.Meta.Device != "" && info.Meta.Device != u.cfg.Device {
		u.log.Debug().Str("key", key).Str("device", info.Meta.Device).Msg("another device's file took this file's key")
		return false, nil
	}
	return true, nil
}

// ifAbsent reports whether job's file, placed, is written only while its
// key holds no object: a key found free that other writers share.
func (job Job) ifAbsent() bool { return job.Shared && job.hold == Free }

// heldAt is objectAt, answered for a new file by the listing of the
// key's folder when that can tell (see mayBeStored); never for a key
// other writers share.
func (u *Uploader) heldAt(ctx context.Context, job Job, key string, id journal.Identity, digestOf func() (digest, error)) (held, string, error) {
	if job.New && !job.Shared {
		size, listed, known := u.listed.lookup(ctx, key)
		switch {
		case known && !listed:
			return noObject, "", nil
		case known && size != id.Size:
			return otherObject, "", nil
		}
	}
	at, etag, _, err := u.objectAt(ctx, key, id, digestOf)
	return at, etag, err
}
