package miniotest

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// errCut is what a connection cut by EndBlackHole returns.
var errCut = errors.New("connection cut by the proxy")

// Proxy is a TCP proxy that counts the bytes clients send through it, so a
// test can tell how much an upload really sent. It can also act as a dead
// network: see BlackHole.
type Proxy struct {
	Addr     string // 127.0.0.1:port to connect to
	upstream string
	ln       net.Listener
	sent     atomic.Int64
	received atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
	hole     chan struct{} // while black-holing: closed when it ends
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

// BlackHole makes the proxy a network that swallows everything: new
// connections are accepted and open ones stay open, but no byte goes
// through either way (senders block once the socket buffers are full),
// until EndBlackHole.
func (p *Proxy) BlackHole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hole == nil {
		p.hole = make(chan struct{})
	}
}

// EndBlackHole resets every connection open (the client sees "connection
// reset by peer", as after a router's reboot) and forwards new ones again.
func (p *Proxy) EndBlackHole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hole == nil {
		return
	}
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // close with RST
		}
		c.Close()
	}
	close(p.hole)
	p.hole = nil
}

// blackHole returns the channel that closes when the black hole ends, or
// nil when there is none.
func (p *Proxy) blackHole() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hole
}

// Close stops the proxy and drops its connections.
func (p *Proxy) Close() {
	p.ln.Close()
	p.EndBlackHole()
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
	p.track(client, true)
	defer p.track(client, false)
	if hole := p.blackHole(); hole != nil {
		<-hole // EndBlackHole resets it
		return
	}
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	defer server.Close()
	p.track(server, true)
	defer p.track(server, false)
	done := make(chan struct{})
	go func() {
		io.Copy(countingWriter{client, &p.received, p}, server)
		client.Close()
		close(done)
	}()
	io.Copy(countingWriter{server, &p.sent, p}, client)
	server.Close()
	<-done
}

// countingWriter counts what it forwards; during a black hole it forwards
// nothing and, once the hole ends, fails.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
	p *Proxy
}

func (c countingWriter) Write(b []byte) (int, error) {
	if hole := c.p.blackHole(); hole != nil {
		<-hole
		return 0, errCut
	}
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}
