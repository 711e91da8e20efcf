package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// `status --json` has [] for empty lists, never null.
func TestStatus_JSONEmptyLists(t *testing.T) {
	sameOnEveryServer(t, "what the agent shows")
	w := newWorld(t)
	w.startAgent()
	out := w.run("status", "--json").stdout
	for _, list := range []string{"uploads", "errors", "recent"} {
		if want := fmt.Sprintf("%q: []", list); !strings.Contains(out, want) {
			t.Errorf("status --json has no %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "null") {
		t.Errorf("status --json holds a null:\n%s", out)
	}
}

// The status page lists the files stored lately, newest first.
func TestStatus_PageNewestFirst(t *testing.T) {
	sameOnEveryServer(t, "what the agent shows")
	w := newWorld(t)
	web := fmt.Sprintf("127.0.0.1:%d", miniotest.FreePort(t))
	w.top = "settle: 200ms\nmetrics:\n  listen: " + web + "\n"
	w.writeConfig("")
	w.startAgent()
	for i, name := range []string{"first.jpg", "second.jpg", "third.jpg"} {
		w.file(name, jpegHeader(t), 10<<10, uint64(i))
		w.eventually(20*time.Second, name+" is stored", func() bool { return len(w.sizes()) == i+1 })
	}
	page := get(t, "http://"+web+"/")
	names := regexp.MustCompile(`<span class="name">([^<]+)</span><small>uploaded`).FindAllStringSubmatch(page, -1)
	var got []string
	for _, m := range names {
		got = append(got, m[1])
	}
	if want := "third.jpg second.jpg first.jpg"; strings.Join(got, " ") != want {
		t.Errorf("the page lists %v, want %s", got, want)
	}
}

// In account mode the text status names the signed-in account.
func TestStatus_NamesTheAccount(t *testing.T) {
	sameOnEveryServer(t, "what the agent shows")
	s := startStack(t, stackOptions{})
	id := s.signup("dora@example.com", "dora-pass-4")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, "dora@example.com", "dora-pass-4", "dora@example.com")
	w.startAgent()
	out := w.run("status").stdout
	lines := strings.SplitN(out, "\n", 3)
	if len(lines) < 2 || lines[1] != "account: "+id {
		t.Errorf("status:\n%s\nwant its second line to be %q", out, "account: "+id)
	}
}
