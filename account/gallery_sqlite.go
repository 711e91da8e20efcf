package account

import (
	"context"
	"errors"
)

var errGalleryTODO = errors.New("gallery index: not built yet")

// GalleryPage implements GalleryStore.
func (s *SQLite) GalleryPage(ctx context.Context, accountID string, f GalleryFilter, after GalleryCursor, newer bool, limit int) ([]StoredObject, error) {
	return nil, errGalleryTODO
}

// GroupObjects implements GalleryStore.
func (s *SQLite) GroupObjects(ctx context.Context, accountID string, groups []string) ([]StoredObject, error) {
	return nil, errGalleryTODO
}

// LookupObjects implements GalleryStore.
func (s *SQLite) LookupObjects(ctx context.Context, accountID string, keys []string) ([]StoredObject, error) {
	return nil, errGalleryTODO
}

// GalleryFacets implements GalleryStore.
func (s *SQLite) GalleryFacets(ctx context.Context, accountID string) (GalleryFacets, error) {
	return GalleryFacets{}, errGalleryTODO
}
