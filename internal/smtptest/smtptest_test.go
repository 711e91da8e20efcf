package smtptest_test

import (
	"net/smtp"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/smtptest"
)

func send(t *testing.T, s *smtptest.Server, msg string, to ...string) {
	t.Helper()
	if err := smtp.SendMail(s.Addr(), nil, "from@example.com", to, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// A message is kept once for each recipient, with its subject and its
// quoted-printable body decoded.
func TestServer_Messages(t *testing.T) {
	s := smtptest.New(t)
	send(t, s, "Subject: Your code\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nYour code is 123456=\r\n. It is valid=3D10 minutes.\r\n",
		"a@example.com", "b@example.com")
	send(t, s, "Subject: Second\r\n\r\nplain\r\n", "a@example.com")

	want := smtptest.Message{To: "b@example.com", Subject: "Your code", Body: "Your code is 123456. It is valid=10 minutes.\r\n"}
	if got := s.Messages("b@example.com"); len(got) != 1 || got[0] != want {
		t.Errorf("messages to b: got %+v, want [%+v]", got, want)
	}
	if got := s.Messages("a@example.com"); len(got) != 2 || got[1].Subject != "Second" || got[1].Body != "plain\r\n" {
		t.Errorf("messages to a: got %+v, want the second one last", got)
	}
	if got := len(s.Messages("")); got != 3 {
		t.Errorf("all messages: got %d, want 3", got)
	}
	if got := s.Messages("c@example.com"); len(got) != 0 {
		t.Errorf("messages to c: got %+v, want none", got)
	}
	if s.Port() == 0 {
		t.Errorf("port: got 0, want the listening port of %s", s.Addr())
	}
}

// Wait returns a message that has arrived at once, and one that arrives
// later when it does.
func TestServer_Wait(t *testing.T) {
	s := smtptest.New(t)
	send(t, s, "Subject: first\r\n\r\none\r\n", "a@example.com")
	if got := s.Wait(t, "a@example.com", 1); got.Subject != "first" {
		t.Errorf("first: got %+v, want subject first", got)
	}
	sent := make(chan error, 1)
	go func() {
		time.Sleep(50 * time.Millisecond) // Wait is waiting by now, most likely
		sent <- smtp.SendMail(s.Addr(), nil, "from@example.com", []string{"b@example.com"}, []byte("Subject: later\r\n\r\ntwo\r\n"))
	}()
	if got := s.Wait(t, "", 2); got.To != "b@example.com" || got.Subject != "later" {
		t.Errorf("second: got %+v, want the later one to b", got)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}
