package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// `config check --connect` says what works, one line each; a missing
// bucket says how to create it, and --create-bucket creates it.
func TestConfigCheck_Connect(t *testing.T) {
	w := newWorld(t)
	valid := w.config + " is valid\n"
	works := fmt.Sprintf(`storage:     %s answers
clock:       within 1s of the storage's
credentials: access key %s accepted
bucket:      photos exists and is writable (a probe object was written and deleted)
`, w.proxy.Addr, w.srv.AccessKey)

	res := w.run("config", "check", "--connect")
	if res.code != 0 || res.stdout != valid+works {
		t.Errorf("exit %d, stdout:\n%s\nwant exit 0 and:\n%s%s\nstderr: %s", res.code, res.stdout, valid, works, res.stderr)
	}
	if n := len(w.sizes()); n != 0 {
		t.Errorf("the probe left %d object(s) in the bucket", n)
	}

	if err := w.srv.Client.RemoveBucket(t.Context(), w.srv.Bucket); err != nil {
		t.Fatal(err)
	}
	res = w.run("config", "check", "--connect")
	missing := fmt.Sprintf("bucket:      FAILED: \"photos\" does not exist at %s: create it with `cloudkeep config check --connect --create-bucket`, "+
		"or `mc mb ALIAS/photos`, or `aws s3 mb s3://photos --endpoint-url http://%s`\n", w.proxy.Addr, w.proxy.Addr)
	if want := valid + strings.Join(strings.SplitAfter(works, "\n")[:3], "") + missing; res.code != 1 || res.stdout != want {
		t.Errorf("exit %d, stdout:\n%s\nwant exit 1 and:\n%s", res.code, res.stdout, want)
	}
	if want := "cloudkeep: 1 check(s) failed\n"; res.stderr != want {
		t.Errorf("stderr %q, want %q", res.stderr, want)
	}

	res = w.run("config", "check", "--connect", "--create-bucket")
	created := "bucket:      photos created\n"
	if want := valid + strings.Join(strings.SplitAfter(works, "\n")[:3], "") + created + strings.SplitAfter(works, "\n")[3]; res.code != 0 || res.stdout != want {
		t.Errorf("exit %d, stdout:\n%s\nwant exit 0 and:\n%s", res.code, res.stdout, want)
	}
	if ok, err := w.srv.Client.BucketExists(t.Context(), w.srv.Bucket); err != nil || !ok {
		t.Errorf("bucket exists %v (%v) after --create-bucket", ok, err)
	}

	text, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.config, []byte(strings.Replace(string(text), w.srv.SecretKey, "not-the-secret-key", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	res = w.run("config", "check", "--connect")
	if want := "credentials: FAILED: SignatureDoesNotMatch: "; res.code != 1 || !strings.Contains(res.stdout, want) {
		t.Errorf("exit %d, stdout:\n%s\nwant exit 1 and a line starting %q", res.code, res.stdout, want)
	}

	w.srv.Kill()
	w.writeConfig("")
	res = w.run("config", "check", "--connect")
	if want := valid + "storage:     FAILED: " + w.proxy.Addr + " does not answer: "; res.code != 1 || !strings.HasPrefix(res.stdout, want) {
		t.Errorf("exit %d, stdout:\n%s\nwant exit 1 and to start with:\n%s", res.code, res.stdout, want)
	}
}

// In account mode `config check --connect` checks the account service, the
// sign-in and the storage reached through the service's grants.
func TestConfigCheck_ConnectAccountMode(t *testing.T) {
	s := startStack(t, stackOptions{})
	w := newWorldOn(t, s.srv, s.url)
	res := w.run("config", "check", "--connect")
	t.Logf("before login:\n%s", res.stdout)
	if want := "sign-in:     FAILED: "; res.code != 1 || !strings.Contains(res.stdout, want) {
		t.Errorf("before login: exit %d, stdout:\n%s\nwant exit 1 and a line starting %q", res.code, res.stdout, want)
	}
	id := s.signup("erin@example.com", "erin-pass-5")
	w.login(s, "erin@example.com", "erin-pass-5", "erin@example.com")
	res = w.run("config", "check", "--connect")
	want := w.config + " is valid\n" +
		"account:     " + s.url + " answers\n" +
		"clock:       within 1s of the account service's\n" +
		"sign-in:     account " + id + ", device laptop\n" +
		"storage:     reached through the account service's grants\n"
	if res.code != 0 || res.stdout != want {
		t.Errorf("exit %d, stdout:\n%s\nwant exit 0 and:\n%s\nstderr: %s", res.code, res.stdout, want, res.stderr)
	}
}
