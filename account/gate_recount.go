package account

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
)

// Recount lists the account's whole prefix on the storage and makes it the
// account's index and usage. Metadata comes from the listing where the
// storage gives it, else from the index already held for the same ETag.
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
	now := g.now()
	for info := range g.client.ListObjects(ctx, g.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			return Usage{}, fmt.Errorf("recount %s: list: %w", accountID, info.Err)
		}
		o := StoredObject{AccountID: accountID, Key: info.Key, Size: info.Size, ETag: info.ETag, Updated: now}
		if k, ok := known[info.Key]; ok && k.ETag == info.ETag {
			o.SHA256, o.MTime, o.Device, o.Updated = k.SHA256, k.MTime, k.Device, k.Updated
		}
		objs = append(objs, o)
	}
	if err := g.store.ReplaceObjects(ctx, accountID, objs); err != nil {
		return Usage{}, err
	}
	return g.Usage(ctx, accountID)
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
