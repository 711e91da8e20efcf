package account

import "net/http"

// routesGalleryPages serves /photos, one item and the storage redirects.
func (h *handler) routesGalleryPages(mux *http.ServeMux) {}
