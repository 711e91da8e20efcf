package miniotest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP proxy that counts the bytes clients send through it, so a
// test can tell how much an upload really sent.
type Proxy struct {
	Addr     string // 127.0.0.1:port to connect to
	upstream string
	ln       net.Listener
	sent     atomic.Int64
	received atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

// NewProxy forwards a new 127.0.0.1 port to upstream until the test ends.
func NewProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), upstream: upstream, ln: ln, conns: map[net.Conn]bool{}}
	p.wg.Go(p.serve)
	t.Cleanup(p.Close)
	return p
}

// Sent returns the bytes clients have sent upstream so far.
func (p *Proxy) Sent() int64 { return p.sent.Load() }

// Received returns the bytes servers have sent back to clients so far.
func (p *Proxy) Received() int64 { return p.received.Load() }

// Reset sets the counts back to zero.
func (p *Proxy) Reset() { p.sent.Store(0); p.received.Store(0) }

// Close stops the proxy and drops its connections.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.pipe(c) })
	}
}

func (p *Proxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) pipe(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	defer server.Close()
	p.track(client, true)
	p.track(server, true)
	defer p.track(client, false)
	defer p.track(server, false)
	done := make(chan struct{})
	go func() {
		io.Copy(countingWriter{client, &p.received}, server)
		client.Close()
		close(done)
	}()
	io.Copy(countingWriter{server, &p.sent}, client)
	server.Close()
	<-done
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}
