package account

import (
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

func (h *handler) routesOIDC(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/openid-configuration", h.discovery)
	mux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, h.svc.keys.JWKS())
	})
	mux.HandleFunc("GET /healthz", h.healthz)
}

// discovery is the OpenID Provider metadata of the token issuer.
func (h *handler) discovery(w http.ResponseWriter, r *http.Request) {
	iss := h.cfg.Issuer
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/jwks.json",
		"authorization_endpoint":                iss + "/signin",
		"token_endpoint":                        iss + "/api/v1/token",
		"device_authorization_endpoint":         iss + "/api/v1/device/authorize",
		"revocation_endpoint":                   iss + "/api/v1/revoke",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{grantDeviceCode, grantRefresh},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"scopes_supported":                      []string{"openid"},
		"claims_supported":                      []string{"sub", "aud", "azp", "exp", "iat", "iss", "device", "device_id"},
	})
}

func jwtExpected(issuer, clientID string, now time.Time) jwt.Expected {
	return jwt.Expected{Issuer: issuer, AnyAudience: jwt.Audience{clientID}, Time: now}
}
