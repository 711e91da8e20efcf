package account

import (
	"context"
)

// GalleryPage implements GalleryStore.
func (s *Postgres) GalleryPage(ctx context.Context, accountID string, f GalleryFilter, after GalleryCursor, newer bool, limit int) ([]StoredObject, error) {
	return nil, errGalleryTODO
}

// GroupObjects implements GalleryStore.
func (s *Postgres) GroupObjects(ctx context.Context, accountID string, groups []string) ([]StoredObject, error) {
	return nil, errGalleryTODO
}

// LookupObjects implements GalleryStore.
func (s *Postgres) LookupObjects(ctx context.Context, accountID string, keys []string) ([]StoredObject, error) {
	return nil, errGalleryTODO
}

// GalleryFacets implements GalleryStore.
func (s *Postgres) GalleryFacets(ctx context.Context, accountID string) (GalleryFacets, error) {
	return GalleryFacets{}, errGalleryTODO
}
