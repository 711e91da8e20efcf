package storage

import (
	"context"
	"errors"
	"path"
	"sync"
	"time"
)

// maxListed bounds a listing made for Stat: beyond it a folder is cheaper
// to ask for file by file.
const maxListed = 2000

var errTooMany = errors.New("too many objects to list for stat")

// statTTL is how long one listing of a folder answers Stat for the keys
// in it.
const statTTL = time.Minute

// statCache answers Stat from one listing per folder, so that a pass over
// many new files does not cost a grant call per file to learn that each
// is not stored yet. An object listed without a SHA-256, or written by this
// device since the listing, is asked for again.
type statCache struct {
	list func(ctx context.Context, prefix string, fn func(Object) error) error
	now  func() time.Time

	mu      sync.Mutex
	folders map[string]*listing
}

type listing struct {
	done chan struct{} // closed once objs and err are set
	at   time.Time
	objs map[string]Object
	err  error
}

// lookup returns what the folder's listing says of key: the object and
// true when it can be trusted, or found false when key is not stored.
// known false means: ask the storage.
func (c *statCache) lookup(ctx context.Context, key string) (o Object, found, known bool) {
	l := c.folder(ctx, path.Dir(key)+"/")
	select {
	case <-l.done:
	case <-ctx.Done():
		return Object{}, false, false
	}
	if l.err != nil {
		return Object{}, false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o, found = l.objs[key]
	if found && o.Meta.SHA256 == "" {
		return Object{}, false, false
	}
	return o, found, true
}

// folder returns the folder's listing, starting it when there is none or
// it is too old.
func (c *statCache) folder(ctx context.Context, prefix string) *listing {
	c.mu.Lock()
	if c.folders == nil {
		c.folders = map[string]*listing{}
	}
	l := c.folders[prefix]
	if l != nil && c.now().Sub(l.at) < statTTL {
		c.mu.Unlock()
		return l
	}
	l = &listing{done: make(chan struct{}), at: c.now(), objs: map[string]Object{}}
	c.folders[prefix] = l
	c.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grantTimeout)
		defer cancel()
		objs := map[string]Object{}
		err := c.list(ctx, prefix, func(o Object) error {
			if len(objs) >= maxListed {
				return errTooMany
			}
			objs[o.Key] = o
			return nil
		})
		c.mu.Lock()
		for k, v := range l.objs { // written while listing
			objs[k] = v
		}
		l.objs, l.err = objs, err // on an error, Stat asks the storage until the listing is old
		c.mu.Unlock()
		close(l.done)
	}()
	return l
}

// wrote marks key as changed by this device: Stat asks the storage.
func (c *statCache) wrote(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.folders[path.Dir(key)+"/"]; l != nil {
		l.objs[key] = Object{Key: key}
	}
}
