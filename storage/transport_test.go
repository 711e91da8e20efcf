package storage

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWithRequestTimeout(t *testing.T) {
	const timeout = time.Second
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr bool
	}{
		{"never answers", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}, true},
		// Longer than the timeout in all, but never long without a byte.
		{"reads a long body slowly", func(w http.ResponseWriter, r *http.Request) {
			buf := make([]byte, 256<<10)
			for {
				if _, err := io.ReadFull(r.Body, buf); err != nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			io.WriteString(w, "ok")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			client := &http.Client{Transport: WithRequestTimeout(http.DefaultTransport.(*http.Transport).Clone(), timeout)}
			start := time.Now()
			resp, err := client.Post(srv.URL, "application/octet-stream", bytes.NewReader(make([]byte, 40<<20)))
			took := time.Since(start)
			if err == nil {
				resp.Body.Close()
			}
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("got error %v after %s, want error: %v", err, took, tt.wantErr)
			}
			if tt.wantErr && took > 3*timeout {
				t.Errorf("gave up after %s, want about %s", took, timeout)
			}
		})
	}
}

// A request that stalls makes the storage unreachable when the transport
// gives up on it, not after the retries of the client above it; a dial
// that fails does so at once; an answer makes it reachable again.
func TestReportingTo(t *testing.T) {
	const timeout = 500 * time.Millisecond
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer silent.Close()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL
	refused.Close()

	h := NewHealth("storage")
	client := &http.Client{Transport: ReportingTo(WithRequestTimeout(http.DefaultTransport.(*http.Transport).Clone(), timeout), h)}
	get := func(url string) {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
		}
	}
	start := time.Now()
	get(silent.URL)
	if s := h.Status(); s.Reachable || time.Since(start) > 2*timeout {
		t.Fatalf("after a stalled request (%s): got reachable %v, want unreachable within %s", time.Since(start), s.Reachable, 2*timeout)
	}
	get(ok.URL)
	if s := h.Status(); !s.Reachable {
		t.Fatalf("after an answer: got unreachable (%s), want reachable", s.LastError)
	}
	get(refusedURL)
	if s := h.Status(); s.Reachable || !strings.Contains(s.LastError, "connection refused") {
		t.Fatalf("after a refused dial: got reachable %v, error %q; want unreachable, connection refused", s.Reachable, s.LastError)
	}
}

// A request that stalled counts from its last byte: the storage has been
// unreachable for one request_timeout when the transport gives up on it.
func TestReportingTo_CountsFromTheStall(t *testing.T) {
	const timeout = time.Second
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer silent.Close()
	h := NewHealth("storage")
	client := &http.Client{Transport: ReportingTo(WithRequestTimeout(http.DefaultTransport.(*http.Transport).Clone(), timeout), h)}
	if resp, err := client.Get(silent.URL); err == nil {
		resp.Body.Close()
	}
	if err := h.UnreachableFor(timeout - 100*time.Millisecond); err == nil {
		t.Fatalf("got reachable for %s after the stall was found, want unreachable since the request began", timeout)
	}
}
