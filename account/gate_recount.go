package account

import (
	"context"
	"fmt"
	"sync"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"
)

// Recount lists the account's whole prefix on the storage and makes it the
// account's index and usage. Metadata comes from the listing where the
// storage gives it (MinIO), else from the index already held for the same
// ETag, else from a HEAD of each object, a few at a time: a lost index is
// rebuilt whole on any storage.
func (g *Gate) Recount(ctx context.Context, accountID string) (Usage, error) {
	if accountID == "" {
		return Usage{}, fmt.Errorf("recount: empty account ID")
	}
	prefix := accountID + "/"
	old, err := g.store.IndexedObjects(ctx, accountID, prefix, prefix+"\U0010FFFF")
	if err != nil {
		return Usage{}, err
	}
	known := make(map[string]StoredObject, len(old))
	for _, o := range old {
		known[o.Key] = o
	}
	var objs []StoredObject
	var unknown []int // indexes in objs of objects to HEAD
	now := g.now()
	opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithMetadata: true}
	for info := range g.client.ListObjects(ctx, g.cfg.Bucket, opts) {
		if info.Err != nil {
			return Usage{}, fmt.Errorf("recount %s: list: %w", accountID, info.Err)
		}
		o := StoredObject{AccountID: accountID, Key: info.Key, Size: info.Size, ETag: info.ETag, Updated: now}
		k, same := known[info.Key]
		if same = same && k.ETag == info.ETag; same {
			o = o.withMeta(k.Meta())
			o.Updated = k.Updated
		}
		switch {
		case info.UserMetadata != nil || info.UserMetadataStripped != nil: // listed with its metadata
			o = o.withMeta(metaOf(info.UserMetadataStripped, ""))
		case !same:
			unknown = append(unknown, len(objs))
		}
		objs = append(objs, o)
	}
	objs, err = g.headMeta(ctx, accountID, objs, unknown)
	if err != nil {
		return Usage{}, err
	}
	if err := g.store.ReplaceObjects(ctx, accountID, objs); err != nil {
		return Usage{}, err
	}
	return g.Usage(ctx, accountID)
}

// headMeta fills in the metadata of objs[i] for each i of unknown with a
// HEAD each, a few at a time, and leaves out those deleted meanwhile.
func (g *Gate) headMeta(ctx context.Context, accountID string, objs []StoredObject, unknown []int) ([]StoredObject, error) {
	var mu sync.Mutex
	gone := map[int]bool{}
	grp, gctx := errgroup.WithContext(ctx)
	grp.SetLimit(controlParallel)
	for _, i := range unknown {
		grp.Go(func() error {
			info, err := g.core.StatObject(gctx, g.cfg.Bucket, objs[i].Key, minio.StatObjectOptions{})
			if minio.ToErrorResponse(err).Code == "NoSuchKey" {
				mu.Lock()
				gone[i] = true
				mu.Unlock()
				return nil
			}
			if err != nil {
				return fmt.Errorf("recount %s: stat %s: %w", accountID, objs[i].Key, err)
			}
			objs[i] = objs[i].withMeta(metaOf(info.UserMetadata, info.ContentType))
			return nil
		})
	}
	if err := grp.Wait(); err != nil || len(gone) == 0 {
		return objs, err
	}
	kept := objs[:0]
	for i, o := range objs {
		if !gone[i] {
			kept = append(kept, o)
		}
	}
	return kept, nil
}

// RecountAll recounts every account the store knows, calling done after
// each one.
func (g *Gate) RecountAll(ctx context.Context, done func(accountID string, u Usage)) error {
	ids, err := g.store.AccountIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		u, err := g.Recount(ctx, id)
		if err != nil {
			return err
		}
		if done != nil {
			done(id, u)
		}
	}
	return nil
}
