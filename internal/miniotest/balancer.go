package miniotest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Balancer is a TCP load balancer on 127.0.0.1, as a deployment puts in
// front of its storage nodes: each new connection goes to the next
// upstream in turn, and an upstream that refuses the connection (a dead
// node) is skipped for the next one. Connections already open to a node
// that dies are cut, as they would be.
type Balancer struct {
	Addr      string // 127.0.0.1:port to connect to
	upstreams []string
	ln        net.Listener
	next      atomic.Uint64
	conns     []atomic.Int64 // connections forwarded, by upstream
	skipped   atomic.Int64   // connections an upstream refused
	wg        sync.WaitGroup
	mu        sync.Mutex
	open      map[net.Conn]bool
	closed    bool
}

// NewBalancer spreads connections to a new 127.0.0.1 port over upstreams
// until the test ends.
func NewBalancer(t testing.TB, upstreams []string) *Balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &Balancer{Addr: ln.Addr().String(), upstreams: upstreams, ln: ln,
		conns: make([]atomic.Int64, len(upstreams)), open: map[net.Conn]bool{}}
	b.wg.Go(b.serve)
	t.Cleanup(b.Close)
	return b
}

// Conns returns how many connections went to each upstream so far.
func (b *Balancer) Conns() []int64 {
	out := make([]int64, len(b.conns))
	for i := range b.conns {
		out[i] = b.conns[i].Load()
	}
	return out
}

// Skipped returns how many times an upstream refused a connection and the
// next one was tried.
func (b *Balancer) Skipped() int64 { return b.skipped.Load() }

// Close stops the balancer and drops its connections.
func (b *Balancer) Close() {
	b.ln.Close()
	b.mu.Lock()
	b.closed = true
	for c := range b.open {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *Balancer) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.wg.Go(func() { b.pipe(c) })
	}
}

// dial connects to the next upstream that accepts, starting with the one
// whose turn it is; nil when none does.
func (b *Balancer) dial() net.Conn {
	first := b.next.Add(1)
	for i := range uint64(len(b.upstreams)) {
		n := (first + i) % uint64(len(b.upstreams))
		c, err := net.DialTimeout("tcp", b.upstreams[n], time.Second)
		if err == nil {
			b.conns[n].Add(1)
			return c
		}
		b.skipped.Add(1)
	}
	return nil
}

// track adds c to the connections Close cuts, or cuts it at once when
// the balancer is closed; untrack takes it out.
func (b *Balancer) track(c net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		c.Close()
		return
	}
	b.open[c] = true
}

func (b *Balancer) untrack(c net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.open, c)
}

func (b *Balancer) pipe(client net.Conn) {
	defer client.Close()
	b.track(client)
	defer b.untrack(client)
	server := b.dial()
	if server == nil {
		return
	}
	defer server.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(client, server)
		client.Close()
		close(done)
	}()
	io.Copy(server, client)
	server.Close()
	<-done
}
