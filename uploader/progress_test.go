package uploader

import (
	"bytes"
	"io"
	"testing"
)

// The count follows the HTTP client through the body: reads add, a rewind
// for a retry takes back, the last byte waits for the acknowledgement,
// success settles at the size, failure at zero.
func TestSending_Counts(t *testing.T) {
	var total int64
	s := newSending(bytes.NewReader(make([]byte, 100)), 100, func(n int64) { total += n })
	check := func(step string, want int64) {
		t.Helper()
		if total != want {
			t.Errorf("after %s: counted %d, want %d", step, total, want)
		}
	}
	buf := make([]byte, 30)
	s.Read(buf)
	s.Read(buf)
	check("two reads", 60)
	if _, err := s.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	check("a rewind", 0)
	io.Copy(io.Discard, s)
	check("reading it all", 99)
	s.acked()
	check("the ack", 100)

	total = 0
	s = newSending(bytes.NewReader(make([]byte, 100)), 100, func(n int64) { total += n })
	s.Read(buf)
	s.Seek(10, io.SeekStart)
	check("a seek back to 10", 10)
	s.failed()
	check("a failure", 0)
	s.acked()
	check("an ack of a body the client read only in part", 100)

	total = 0
	s = newSending(bytes.NewReader(nil), 0, func(n int64) { total += n })
	io.Copy(io.Discard, s)
	s.acked()
	check("an empty body", 0)
}

// An upload that starts over takes back all it had counted.
func TestTally_TakeBack(t *testing.T) {
	var total int64
	tl := &tally{fn: func(n int64) { total += n }}
	tl.add(70)
	tl.add(-20)
	tl.takeBack()
	if total != 0 {
		t.Errorf("after takeBack: %d, want 0", total)
	}
	tl.add(5)
	if total != 5 {
		t.Errorf("after a new add: %d, want 5", total)
	}
}
