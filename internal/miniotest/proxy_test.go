package miniotest

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// echo serves a TCP echo on 127.0.0.1 until the test ends.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// roundTrip writes msg on c and reads it back within limit.
func roundTrip(c net.Conn, msg string, limit time.Duration) error {
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(limit))
	buf := make([]byte, len(msg))
	_, err := io.ReadFull(c, buf)
	return err
}

func TestProxy_BlackHole(t *testing.T) {
	p := NewProxy(t, echo(t))
	old, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := roundTrip(old, "ping", time.Second); err != nil {
		t.Fatalf("before the black hole: %v", err)
	}

	p.BlackHole()
	if err := roundTrip(old, "lost", 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("open connection in the black hole: got %v, want a read timeout", err)
	}
	fresh, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatalf("a new connection in the black hole is not accepted: %v", err)
	}
	defer fresh.Close()
	if err := roundTrip(fresh, "lost", 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("new connection in the black hole: got %v, want a read timeout", err)
	}

	p.EndBlackHole()
	for _, c := range []net.Conn{old, fresh} {
		if err := roundTrip(c, "gone", time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("a connection of the black hole after its end: got %v, want it reset", err)
		}
	}
	again, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := roundTrip(again, "pong", time.Second); err != nil {
		t.Errorf("after the black hole: %v", err)
	}
	if got, want := p.Sent(), int64(len("ping")+len("pong")); got != want {
		t.Errorf("sent %d bytes, want %d (nothing goes through the black hole)", got, want)
	}
}
