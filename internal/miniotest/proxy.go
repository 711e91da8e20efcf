package miniotest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// errCut is what a connection cut by EndBlackHole returns.
var errCut = errors.New("connection cut by the proxy")

// Proxy is a TCP proxy that counts the bytes clients send through it, so a
// test can tell how much an upload really sent. It can also act as a dead
// network (see BlackHole). On a connection that carries plain HTTP/1.1 it
// records every request (Requests) and can corrupt request bodies
// (CorruptPuts).
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
	requests []Request
	corrupt  int // PUT bodies still to corrupt
}

// Request is one HTTP request as the proxy forwarded it.
type Request struct {
	Method    string
	Target    string // path and query, as sent
	Header    http.Header
	Size      int64 // the body's bytes by Content-Length; -1 when chunked
	Corrupted bool  // one byte of its body was flipped on the way
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

// Reset sets the counts back to zero and forgets the requests seen.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent.Store(0)
	p.received.Store(0)
	p.requests = nil
}

// Requests returns the HTTP requests forwarded since the start or the
// last Reset, in the order their headers arrived.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// CountRequests returns how many of Requests have method.
func (p *Proxy) CountRequests(method string) int {
	n := 0
	for _, r := range p.Requests() {
		if r.Method == method {
			n++
		}
	}
	return n
}

// CorruptPuts flips one byte, in the middle, of the body of each of the
// next n PUT requests that have a body: the bytes a bad network or a bad
// disk controller would change on the way.
func (p *Proxy) CorruptPuts(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.corrupt = n
}

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
	p.forward(countingWriter{server, &p.sent, p}, bufio.NewReaderSize(client, 64<<10))
	server.Close()
	<-done
}

// forward copies what the client sends to w, request by request when it
// is HTTP, as it is otherwise.
func (p *Proxy) forward(w io.Writer, client *bufio.Reader) {
	if _, err := client.Peek(1); err != nil {
		return
	}
	first, _ := client.Peek(client.Buffered())
	if !isHTTP(first) {
		io.Copy(w, client)
		return
	}
	for p.forwardRequest(w, client) == nil {
	}
}

// isHTTP reports whether b, the first bytes of a connection, start an
// HTTP request.
func isHTTP(b []byte) bool {
	for _, m := range []string{"GET ", "PUT ", "POST ", "HEAD ", "DELETE "} {
		if bytes.HasPrefix(b, []byte(m)) {
			return true
		}
	}
	return false
}

// forwardRequest forwards one request, its head as it came and its body
// corrupted when its turn came; an error ends the connection, after the
// rest was copied as it is when it could not be read as HTTP.
func (p *Proxy) forwardRequest(w io.Writer, client *bufio.Reader) error {
	head, err := readHead(client)
	if err != nil {
		w.Write(head)
		return err
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		w.Write(head)
		io.Copy(w, client)
		return err
	}
	corrupt := p.record(req)
	if _, err := w.Write(head); err != nil {
		return err
	}
	if req.ContentLength < 0 { // chunked: not followed further
		io.Copy(w, client)
		return io.EOF
	}
	if !corrupt {
		_, err = io.CopyN(w, client, req.ContentLength)
		return err
	}
	half := req.ContentLength / 2
	if _, err := io.CopyN(w, client, half); err != nil {
		return err
	}
	b, err := client.ReadByte()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte{b ^ 0xff}); err != nil {
		return err
	}
	_, err = io.CopyN(w, client, req.ContentLength-half-1)
	return err
}

// readHead reads a request line and headers, up to the empty line.
func readHead(r *bufio.Reader) ([]byte, error) {
	var head []byte
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		line, err := r.ReadSlice('\n')
		head = append(head, line...)
		if err != nil {
			return head, err
		}
		if len(head) > 1<<20 {
			return head, errors.New("request head over 1 MiB")
		}
	}
	return head, nil
}

// record adds req to the requests seen and reports whether its body is to
// be corrupted.
func (p *Proxy) record(req *http.Request) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	corrupt := req.Method == http.MethodPut && req.ContentLength > 0 && p.corrupt > 0
	if corrupt {
		p.corrupt--
	}
	p.requests = append(p.requests, Request{Method: req.Method, Target: req.RequestURI, Header: req.Header, Size: req.ContentLength, Corrupted: corrupt})
	return corrupt
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
