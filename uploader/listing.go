package uploader

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/cloudkeep/cloudkeep/storage"
)

// A new file is sent without asking first whether its object exists (a
// HEAD per file) when one listing of its folder shows its key is free:
// one request for a folder of up to listingMax objects, however many new
// files go into it. The listing is the only thing that can tell a new file
// from one whose journal was lost, so it is taken even on a first backup;
// a conditional PUT (If-None-Match: *) could not replace it, as it sends
// the whole body before the server refuses it.
//
// A listing answers for listingTTL. The objects this device writes since
// are not in it, but their files are no longer new (Job.New): they are
// asked about one by one. An object another process writes under a key
// of this device within the TTL is overwritten with the same content at
// worst: bytes sent again, never a wrong object.
//
// That holds only for keys of this device. Under a template without
// {device} the account's devices share keys (two phones' IMG_0001.JPG of
// one month): a listing is then never trusted (Job.Shared), each key is
// asked about, and a key found free is written with If-None-Match: *.
const (
	listingTTL  = 10 * time.Minute
	listingMax  = 1000 // one page of an S3 listing; a bigger folder is asked about file by file
	maxListings = 64   // folders remembered at once
)

// listings remembers the recent listings of folders.
type listings struct {
	st  storage.Storage
	now func() time.Time

	mu      sync.Mutex
	folders map[string]*listing
}

// listing is one folder's listing; ready closes once sizes is set.
type listing struct {
	ready chan struct{}
	at    time.Time
	sizes map[string]int64 // key → size; nil when the listing cannot tell
}

func newListings(st storage.Storage) *listings {
	return &listings{st: st, now: time.Now, folders: map[string]*listing{}}
}

// lookup returns the size of key's object in its folder's listing and
// whether the listing holds it; known is false when the listing cannot
// tell (the folder holds too many objects, or could not be listed).
func (l *listings) lookup(ctx context.Context, key string) (size int64, listed, known bool) {
	f := l.folder(ctx, key[:strings.LastIndexByte(key, '/')+1])
	select {
	case <-f.ready:
	case <-ctx.Done():
		return 0, false, false
	}
	if f.sizes == nil {
		return 0, false, false
	}
	size, listed = f.sizes[key]
	return size, listed, true
}

// folder returns the listing of prefix, listing it now when there is no
// recent one; concurrent callers share it.
func (l *listings) folder(ctx context.Context, prefix string) *listing {
	l.mu.Lock()
	if f := l.folders[prefix]; f != nil && l.now().Sub(f.at) < listingTTL {
		l.mu.Unlock()
		return f
	}
	f := &listing{ready: make(chan struct{}), at: l.now()}
	l.evictLocked()
	l.folders[prefix] = f
	l.mu.Unlock()

	defer close(f.ready)
	objs, complete, err := l.st.ListFolder(ctx, prefix, listingMax)
	if err != nil {
		l.mu.Lock()
		if l.folders[prefix] == f {
			delete(l.folders, prefix) // the next file asks again
		}
		l.mu.Unlock()
		return f
	}
	if complete {
		f.sizes = make(map[string]int64, len(objs))
		for _, o := range objs {
			f.sizes[o.Key] = o.Size
		}
	}
	return f
}

// evictLocked forgets the listings that are too old, and the oldest one
// when there are too many; l.mu is held.
func (l *listings) evictLocked() {
	var oldest string
	for p, f := range l.folders {
		if l.now().Sub(f.at) >= listingTTL {
			delete(l.folders, p)
		} else if oldest == "" || f.at.Before(l.folders[oldest].at) {
			oldest = p
		}
	}
	if len(l.folders) >= maxListings {
		delete(l.folders, oldest)
	}
}
