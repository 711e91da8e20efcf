package agent

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/jpeg"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "image/gif" // thumbnails of GIF photos
	_ "image/png" // and PNG

	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/image/draw"
)

//go:embed web
var webFiles embed.FS

var statusPage = template.Must(template.New("status.html").Funcs(template.FuncMap{
	"bytes": func(n int64) string { return humanize.IBytes(uint64(n)) },
	"since": func(t, now time.Time) string { return now.Sub(t).Round(time.Second).String() },
	"clock": func(t time.Time) string { return t.Local().Format(time.TimeOnly) },
	"base":  path.Base,
	"isPhoto": func(p string) bool {
		switch strings.ToLower(path.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".gif":
			return true
		}
		return false
	},
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
// at / and the Prometheus metrics at /metrics.
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
		if err := statusPage.Execute(&b, a.Status()); err != nil {
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
	thumbs := &thumbnails{cache: map[int64][]byte{}}
	mux.HandleFunc("GET /thumb/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		for _, rec := range a.Status().Recent { // only files the page shows
			if rec.ID == id {
				if img, err := thumbs.get(id, rec.Path); err == nil {
					w.Header().Set("Content-Type", "image/jpeg")
					w.Write(img)
					return
				}
			}
		}
		http.NotFound(w, r)
	})
	return mux
}

// thumbnails makes small JPEGs of recent photos, from the local files.
type thumbnails struct {
	mu    sync.Mutex
	cache map[int64][]byte
}

const thumbSize = 128

func (t *thumbnails) get(id int64, file string) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, ok := t.cache[id]; ok {
		return b, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil || cfg.Width*cfg.Height > 80e6 {
		return nil, fmt.Errorf("not a photo we can shrink: %v", err)
	}
	f.Seek(0, 0)
	src, _, err := image.Decode(f)
	if err != nil {
		return nil, err
	}
	b := src.Bounds()
	side := min(b.Dx(), b.Dy()) // a centred square
	crop := image.Rect(b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2, 0, 0)
	crop.Max = crop.Min.Add(image.Pt(side, side))
	dst := image.NewRGBA(image.Rect(0, 0, thumbSize, thumbSize))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, crop, draw.Src, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	if len(t.cache) >= 4*maxRecent {
		clear(t.cache)
	}
	t.cache[id] = out.Bytes()
	return out.Bytes(), nil
}
