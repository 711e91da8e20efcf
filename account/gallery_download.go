package account

import "net/http"

// routesGalleryDownloads serves the ZIP and link-list downloads.
func (h *handler) routesGalleryDownloads(mux *http.ServeMux) {}
