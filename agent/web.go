package agent

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cloudkeep/cloudkeep/thumb"
)

//go:embed web
var webFiles embed.FS

var statusPage = template.Must(template.New("status.html").Funcs(template.FuncMap{
	"bytes":   func(n int64) string { return humanize.IBytes(uint64(n)) },
	"since":   func(t, now time.Time) string { return now.Sub(t).Round(time.Second).String() },
	"clock":   func(t time.Time) string { return t.Local().Format(time.TimeOnly) },
	"base":    path.Base,
	"isPhoto": func(p string) bool { return thumb.Supports(p) },
	"stateClass": func(s string) string {
		switch s {
		case StateSignedOut:
			return "warn"
		case StatePaused:
			return "paused"
		}
		return "ok"
	},
}).ParseFS(webFiles, "web/status.html"))

// serveWeb serves, on the loopback address MetricsListen, the status page
// at /, the thumbnails of its recent photos at /thumb/<file ID> and the
// Prometheus metrics at /metrics.
func (a *Agent) serveWeb(ctx context.Context, l net.Listener, reg *prometheus.Registry) error {
	_, port, err := net.SplitHostPort(l.Addr().String())
	if err != nil {
		return fmt.Errorf("status page address: %w", err)
	}
	srv := &http.Server{Handler: loopbackOnly(port, a.webMux(reg)), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loopbackOnly passes on only requests whose Host is 127.0.0.1, [::1] or
// localhost with port, so that a web page whose name was made to resolve
// to 127.0.0.1 (DNS rebinding) cannot read the status page: anything else
// is answered 421 Misdirected Request. Answers may not be embedded by
// other sites (Cross-Origin-Resource-Policy: same-origin).
func loopbackOnly(port string, next http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, host := range []string{"127.0.0.1", "[::1]", "localhost"} {
		allowed[host+":"+port] = true
		if port == "80" {
			allowed[host] = true
		}
	}
	refusal := fmt.Sprintf("This status page answers only at http://127.0.0.1:%s/, http://[::1]:%s/ or http://localhost:%s/.", port, port, port)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
		if !allowed[strings.ToLower(r.Host)] {
			http.Error(w, refusal, http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// webMux routes the status page, its thumbnails and the metrics.
func (a *Agent) webMux(reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		if err := statusPage.Execute(&b, statusView{a.Status(), a.thumbs}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'")
		w.Write(b.Bytes())
	})
	mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, webFiles, "web/style.css")
	})
	mux.HandleFunc("GET /thumb/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		file := a.thumbs.cached(id)
		if err != nil || file == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Cache-Control", "private, no-cache") // asked again with If-Modified-Since: a file edited gets a new one
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeFile(w, r, file)
	})
	return mux
}

// statusView is what the status page shows: the status, and which recent
// files have a thumbnail.
type statusView struct {
	Status
	thumbs *thumbnailer
}

// Thumb reports whether the file id has a thumbnail to show: a photo whose
// thumbnail the agent made (or found stored) lately.
func (v statusView) Thumb(id int64) bool { return v.thumbs.cached(id) != "" }
