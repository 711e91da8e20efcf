package agent

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// A page on another site whose name resolves to 127.0.0.1 (DNS rebinding)
// sends its own name as Host: the status page must not answer it.
func TestLoopbackOnly(t *testing.T) {
	h := loopbackOnly("9464", (&Agent{}).webMux(prometheus.NewRegistry()))
	const refusal = "This status page answers only at http://127.0.0.1:9464/, http://[::1]:9464/ or http://localhost:9464/.\n"
	for _, tc := range []struct {
		host string
		want int
	}{
		{"127.0.0.1:9464", http.StatusOK},
		{"[::1]:9464", http.StatusOK},
		{"localhost:9464", http.StatusOK},
		{"LOCALHOST:9464", http.StatusOK},
		{"evil.example:9464", http.StatusMisdirectedRequest},
		{"evil.example", http.StatusMisdirectedRequest},
		{"127.0.0.1", http.StatusMisdirectedRequest},
		{"127.0.0.1:80", http.StatusMisdirectedRequest},
		{"localhost.evil.example:9464", http.StatusMisdirectedRequest},
		{"127.0.0.2:9464", http.StatusMisdirectedRequest},
		{"", http.StatusMisdirectedRequest},
	} {
		paths := []string{"/metrics", "/style.css"} // these need no running agent
		if tc.want != http.StatusOK {
			paths = append(paths, "/", "/thumb/1")
		}
		for _, path := range paths {
			r := httptest.NewRequest("GET", "http://x"+path, nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("Host %q %s: got %d, want %d", tc.host, path, w.Code, tc.want)
			}
			if got := w.Header().Get("Cross-Origin-Resource-Policy"); got != "same-origin" {
				t.Errorf("Host %q %s: Cross-Origin-Resource-Policy %q, want same-origin", tc.host, path, got)
			}
			body, _ := io.ReadAll(w.Body)
			if tc.want != http.StatusOK && string(body) != refusal {
				t.Errorf("Host %q %s: body %q, want %q", tc.host, path, body, refusal)
			}
		}
	}
}

// On port 80 browsers leave the port out of Host.
func TestLoopbackOnly_Port80(t *testing.T) {
	h := loopbackOnly("80", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, host := range []string{"localhost", "127.0.0.1:80", "[::1]"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		if h.ServeHTTP(w, r); w.Code != http.StatusOK {
			t.Errorf("Host %q: got %d, want 200", host, w.Code)
		}
	}
}

// The served status page checks Host against the port it listens on.
func TestServeWeb_RefusesOtherHosts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Agent{}).serveWeb(ctx, l, prometheus.NewRegistry()) }()
	t.Cleanup(func() { cancel(); <-done })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	for host, want := range map[string]int{
		"127.0.0.1:" + port:           http.StatusOK,
		"localhost:" + port:           http.StatusOK,
		"rebind.evil.example:" + port: http.StatusMisdirectedRequest,
		"127.0.0.1:" + port + "0":     http.StatusMisdirectedRequest,
	} {
		req, _ := http.NewRequest("GET", "http://"+l.Addr().String()+"/metrics", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || resp.Header.Get("Cross-Origin-Resource-Policy") != "same-origin" {
			t.Errorf("Host %q: got %d %q, want %d same-origin", host, resp.StatusCode, resp.Header.Get("Cross-Origin-Resource-Policy"), want)
		}
	}
}
