// Package smtptest runs a real SMTP server on 127.0.0.1 for tests and keeps
// the messages it receives, so that a test can read the codes a service
// mails.
package smtptest

import (
	"io"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// WaitTimeout is how long Wait waits for a message before it fails the test.
const WaitTimeout = 30 * time.Second

// Message is one message the server received, once for each recipient.
type Message struct {
	To      string // the envelope recipient, without angle brackets
	Subject string // the Subject header as sent
	Body    string // the body, quoted-printable decoded
}

// Server is an SMTP server that accepts every message, without
// authentication or TLS, and keeps it. It is safe for concurrent use.
type Server struct {
	addr string
	port int

	mu      sync.Mutex
	msgs    []Message
	arrived chan struct{} // closed, and replaced, when a message arrives
}

// New starts a Server on a free port of 127.0.0.1; it is closed when t and
// its subtests end.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{srv: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr, s.port = l.Addr().String(), l.Addr().(*net.TCPAddr).Port
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// Messages returns, oldest first, the messages received so far for to, or
// every message when to is "".
func (s *Server) Messages(to string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.msgs {
		if to == "" || m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// Wait returns the nth message (counting from 1) for to, or among all
// messages when to is "", once it has arrived. It fails t when the message
// has not arrived within WaitTimeout.
func (s *Server) Wait(t testing.TB, to string, n int) Message {
	t.Helper()
	timeout := time.After(WaitTimeout)
	for {
		s.mu.Lock()
		arrived := s.arrived
		s.mu.Unlock()
		if msgs := s.Messages(to); len(msgs) >= n {
			return msgs[n-1]
		}
		select {
		case <-arrived:
		case <-timeout:
			t.Fatalf("smtptest: message %d to %q did not arrive within %v", n, to, WaitTimeout)
			return Message{}
		}
	}
}

func (s *Server) add(msgs ...Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, msgs...)
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
}

// session is one SMTP transaction: the recipients, then the data.
type session struct {
	srv *Server
	to  []string
}

func (s *session) Reset()                                    { s.to = nil }
func (s *session) Logout() error                             { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }

func (s *session) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(m.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	msgs := make([]Message, len(s.to))
	for i, to := range s.to {
		msgs[i] = Message{To: to, Subject: m.Header.Get("Subject"), Body: string(b)}
	}
	s.srv.add(msgs...)
	return nil
}
