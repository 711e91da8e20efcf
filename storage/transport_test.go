package storage

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
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
