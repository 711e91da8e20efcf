package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// refusingProxy forwards to the S3 server, but holds the first PUT of one
// key until released, then refuses it (403 AccessDenied), as a storage
// whose policy refuses an upload does.
type refusingProxy struct {
	srv      *httptest.Server
	key      string
	arrived  chan struct{} // closed when the PUT to refuse arrives
	release  chan struct{} // close to answer it
	once     sync.Once
	refusing sync.Once
}

func newRefusingProxy(t *testing.T, upstream, key string) *refusingProxy {
	u, err := url.Parse("http://" + upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &refusingProxy{key: key, arrived: make(chan struct{}), release: make(chan struct{})}
	forward := httputil.NewSingleHostReverseProxy(u) // the Host header stays: the signature holds
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuse := false
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/"+key) {
			p.refusing.Do(func() { refuse = true })
		}
		if !refuse {
			forward.ServeHTTP(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		close(p.arrived)
		select {
		case <-p.release:
		case <-time.After(time.Minute):
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>`)
	}))
	t.Cleanup(func() { p.once.Do(func() { close(p.release) }); p.srv.Close() })
	return p
}

// An upload refused while the file changed again: the change uploads it,
// the failure's retry does not send it a second time, and the status no
// longer counts the failure once the file is stored.
func TestHostile_FailedThenChangedStoredOnce(t *testing.T) {
	t.Parallel() // mostly waiting: runs beside the others
	sameOnEveryServer(t, "how files are written on the device")
	w := newWorld(t)
	w.versioned()
	const rel, key = "IMG_refused.jpg", "alice/laptop/pictures/IMG_refused.jpg"
	p := newRefusingProxy(t, w.proxy.Addr, key)
	conf, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	conf = []byte(strings.Replace(string(conf), "endpoint: "+w.proxy.Addr, "endpoint: "+strings.TrimPrefix(p.srv.URL, "http://"), 1))
	if err := os.WriteFile(w.config, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	r := w.startAgent()
	sum := w.file(rel, jpegHeader(t), 200_000, 8)
	select {
	case <-p.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the photo's upload did not begin")
	}
	// The same bytes written again while the upload is under way: a change.
	path := filepath.Join(w.photos, rel)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	w.eventually(30*time.Second, "the change is queued", func() bool {
		n := 0
		for l := range strings.Lines(r.logs.String()) {
			if strings.Contains(l, `"path":"`+path+`"`) && strings.Contains(l, `"message":"ready"`) {
				n++
			}
		}
		return n >= 2
	})
	p.once.Do(func() { close(p.release) })
	w.eventually(30*time.Second, "the photo is stored", func() bool { return w.objects()[key] == sum })
	time.Sleep(35 * time.Second) // past the failure's 30 s retry
	s, ok := r.status()
	if !ok {
		t.Fatal("no status")
	}
	if s.Totals.Failed != 0 || len(s.Errors) != 0 {
		t.Errorf("status: %d failed, errors %v; want none: the file is stored", s.Totals.Failed, s.Errors)
	}
	r.stop()
	if got := w.versionSums(key); len(got) != 1 || got[0] != sum {
		t.Errorf("versions of %s: sha256 %v, want one: [%s]", key, got, sum)
	}
}
