package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// verifyWorld backs up n photos IMG_1.jpg… of 20 KiB and returns their
// keys and sha256 by name.
func verifyWorld(t *testing.T, n int) (*world, map[string]string) {
	w := newWorld(t)
	w.top = "media:\n  thumbnails: false\n"
	w.writeConfig("")
	sums := map[string]string{}
	for i := 1; i <= n; i++ {
		sums[fmt.Sprintf("IMG_%d.jpg", i)] = w.file(fmt.Sprintf("IMG_%d.jpg", i), jpegHeader(t), 20<<10, uint64(i))
	}
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	return w, sums
}

func verifyKey(name string) string { return "alice/laptop/pictures/" + name }

// verifyPut stores body under key behind the agent's back, as another
// tool would (no cloudkeep metadata unless meta says), and returns its
// ETag.
func (w *world) verifyPut(key string, body []byte, meta map[string]string) string {
	w.t.Helper()
	info, err := w.srv.Client.PutObject(context.Background(), w.srv.Bucket, key, bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{UserMetadata: meta})
	if err != nil {
		w.t.Fatal(err)
	}
	return info.ETag
}

// verifyJournal runs a statement on the journal.
func (w *world) verifyJournal(query string, args ...any) {
	w.t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(w.state, "journal.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		w.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		w.t.Fatal(err)
	}
}

// verifySHA256 hashes the object's bytes; "" when it cannot be read.
func (w *world) verifySHA256(key string) string {
	obj, err := w.srv.Client.GetObject(context.Background(), w.srv.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return ""
	}
	defer obj.Close()
	h := sha256.New()
	if _, err := io.Copy(h, obj); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (w *world) verifyETag(name string) string {
	w.t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(w.state, "journal.db")+"?mode=ro")
	if err != nil {
		w.t.Fatal(err)
	}
	defer db.Close()
	var etag string
	if err := db.QueryRow(`SELECT etag FROM files WHERE path = ?`, name).Scan(&etag); err != nil {
		w.t.Fatal(err)
	}
	return etag
}

// verifyTamper damages the bucket behind cloudkeep's back: IMG_1 deleted,
// IMG_2 replaced by other bytes of its size (by another tool: no
// metadata), IMG_3 cut to half (keeping its metadata), a stray object,
// and IMG_4's upload journaled as failed. It returns the lines verify
// must print (the summary aside).
func (w *world) verifyTamper() []string {
	w.t.Helper()
	ctx := context.Background()
	if err := w.srv.Client.RemoveObject(ctx, w.srv.Bucket, verifyKey("IMG_1.jpg"), minio.RemoveObjectOptions{}); err != nil {
		w.t.Fatal(err)
	}
	stored2 := w.verifyETag("IMG_2.jpg")
	etag2 := w.verifyPut(verifyKey("IMG_2.jpg"), bytes.Repeat([]byte("x"), 20<<10), nil)
	st, err := w.srv.Client.StatObject(ctx, w.srv.Bucket, verifyKey("IMG_3.jpg"), minio.StatObjectOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	w.verifyPut(verifyKey("IMG_3.jpg"), bytes.Repeat([]byte("y"), 10<<10), map[string]string{"sha256": st.UserMetadata["Sha256"]})
	w.verifyPut(verifyKey("stray.jpg"), []byte("abc"), nil)
	w.verifyJournal(`UPDATE files SET state = 'failed', last_error = 'storage refused the upload: 403 Forbidden' WHERE path = 'IMG_4.jpg'`)
	today := time.Now().Format("2006-01-02")
	p := func(name string) string { return filepath.Join(w.photos, name) }
	return []string{
		"missing_remote  " + p("IMG_1.jpg") + "  stored " + today + ", the object is gone",
		"hash_mismatch   " + p("IMG_2.jpg") + "  replaced by another writer: no sha256 in its metadata, ETag " + etag2 + " (stored " + stored2 + ")",
		"size_mismatch   " + p("IMG_3.jpg") + "  object 10240 bytes, file 20480 bytes",
		"not_uploaded    " + p("IMG_4.jpg") + "  failed: storage refused the upload: 403 Forbidden",
		"remote_only     " + verifyKey("stray.jpg") + "  3 bytes, no journal row holds it",
	}
}

// verifyLines checks that out holds exactly want, then a summary line.
func verifyLines(t *testing.T, out string, want []string, summary string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	got := map[string]bool{}
	for _, l := range lines {
		got[l] = true
	}
	for _, l := range want {
		if !got[l] {
			t.Errorf("missing line %q in:\n%s", l, out)
		}
	}
	if !strings.Contains(out, summary) {
		t.Errorf("no %q in:\n%s", summary, out)
	}
	if len(lines) < len(want)+1 || len(lines) > len(want)+2 {
		t.Errorf("got %d lines, want %d findings and the summary:\n%s", len(lines), len(want), out)
	}
}

func TestVerify_FindsAndRepairs(t *testing.T) {
	t.Parallel()
	w, sums := verifyWorld(t, 5)
	if res := w.run("verify"); res.code != 0 || !strings.Contains(res.stdout, "verified 5 files, 5 objects in ") || !strings.Contains(res.stdout, ": all stored\n") {
		t.Fatalf("verify after the backup: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	// A photo a rule leaves out is named, and is no failure.
	w.top += "  exclude: [\"cache/**\"]\n"
	w.writeConfig("")
	w.file("cache/IMG_9.jpg", jpegHeader(t), 1000, 9)
	excluded := "not_uploaded    " + filepath.Join(w.photos, "cache", "IMG_9.jpg") + `  excluded by rule "cache/**"`
	if res := w.run("verify"); res.code != 0 || !strings.Contains(res.stdout, excluded+"\n") ||
		!strings.Contains(res.stdout, ": all stored, 1 not_uploaded (left out on purpose: excluded or skipped)\n") {
		t.Fatalf("verify with an excluded photo: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	want := append(w.verifyTamper(), excluded)
	res := w.run("verify")
	if res.code != 1 {
		t.Fatalf("verify: exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
	}
	verifyLines(t, res.stdout, want, "verified 5 files, 5 objects in ")
	if !strings.Contains(res.stdout, ": 2 not_uploaded, 1 missing_remote, 1 size_mismatch, 1 hash_mismatch, 1 remote_only (objects no journal row holds: not a failure)\n") ||
		!strings.Contains(res.stdout, "run `cloudkeep verify --repair` to upload 4 file(s) again\n") {
		t.Errorf("summary:\n%s", res.stdout)
	}

	res = w.run("verify", "--json")
	var out struct {
		OK       bool           `json:"ok"`
		Counts   map[string]int `json:"counts"`
		Findings []struct {
			Reason, Path, Key, Detail string
			Failing, Repair           bool
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil || res.code != 1 {
		t.Fatalf("verify --json: exit %d, %v\n%s", res.code, err, res.stdout)
	}
	if out.OK || len(out.Findings) != 6 || out.Counts["missing_remote"] != 1 || out.Counts["remote_only"] != 1 {
		t.Errorf("verify --json: got %+v", out)
	}

	res = w.run("verify", "--repair")
	if res.code != 0 || !strings.Contains(res.stdout, "repair: 4 file(s) queued again; backing up\n") ||
		!strings.Contains(res.stdout, "backed up 3 file(s)") || !strings.Contains(res.stdout, "1 already stored") || !strings.Contains(res.stdout, "after the repair:\n") {
		t.Fatalf("verify --repair: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for name, sum := range sums {
		if got := w.contentSHA256(verifyKey(name)); got != sum {
			t.Errorf("%s after the repair: sha256 %s, want %s", name, got, sum)
		}
	}
	res = w.run("verify")
	if res.code != 0 || !strings.Contains(res.stdout, ": all stored, 1 not_uploaded (left out on purpose: excluded or skipped), 1 remote_only (objects no journal row holds: not a failure)\n") {
		t.Fatalf("verify after the repair: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// Other bytes of the same size under IMG_4's key, with its metadata
	// kept (a tool that copies metadata): the listing cannot tell, --deep
	// reads the object back.
	st, err := w.srv.Client.StatObject(context.Background(), w.srv.Bucket, verifyKey("IMG_4.jpg"), minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.verifyPut(verifyKey("IMG_4.jpg"), bytes.Repeat([]byte("z"), 20<<10), map[string]string{"sha256": st.UserMetadata["Sha256"]})
	if res := w.run("verify"); res.code != 0 {
		t.Errorf("verify: exit %d, want 0 (the metadata is kept)\n%s", res.code, res.stdout)
	}
	res = w.run("verify", "--deep")
	if res.code != 1 || !strings.Contains(res.stdout, "hash_mismatch   "+filepath.Join(w.photos, "IMG_4.jpg")+"  its bytes hash to ") {
		t.Errorf("verify --deep: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := w.run("verify", "--deep", "--repair"); res.code != 0 {
		t.Errorf("verify --deep --repair: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if got := w.contentSHA256(verifyKey("IMG_4.jpg")); got != sums["IMG_4.jpg"] {
		t.Errorf("IMG_4.jpg after the repair: sha256 %s, want %s", got, sums["IMG_4.jpg"])
	}

	// A local file whose bytes changed under the same size and time is
	// found by --deep only, and not uploaded over its backup.
	path := filepath.Join(w.photos, "IMG_5.jpg")
	fi, _ := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("rot"), 100)
	f.Close()
	os.Chtimes(path, fi.ModTime(), fi.ModTime())
	if res := w.run("verify"); res.code != 0 {
		t.Errorf("verify: exit %d, want 0 (the file's identity is unchanged)\n%s", res.code, res.stdout)
	}
	res = w.run("verify", "--deep", "--repair")
	if res.code != 1 || !strings.Contains(res.stdout, "hash_mismatch   "+path+"  the file's content differs from its backup (sha256 ") ||
		!strings.Contains(res.stderr, "nothing verify can repair") {
		t.Errorf("verify --deep --repair: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if got := w.contentSHA256(verifyKey("IMG_5.jpg")); got != sums["IMG_5.jpg"] {
		t.Errorf("IMG_5.jpg's backup was replaced by the damaged file")
	}
}

func TestVerify_RepairThroughAgent(t *testing.T) {
	t.Parallel()
	w, sums := verifyWorld(t, 5)
	want := w.verifyTamper()
	web := fmt.Sprintf("127.0.0.1:%d", miniotest.FreePort(t))
	w.top += "metrics:\n  listen: " + web + "\n"
	w.writeConfig("")
	w.env = append(w.env, "CLOUDKEEP_TEST_VERIFY_AFTER=100ms")
	r := w.startAgent()
	// IMG_4, failed in the journal, is uploaded by the agent at its start;
	// its light verify counts what the bucket lacks.
	w.eventually(20*time.Second, "the light verify ran", func() bool {
		s, ok := r.status()
		return ok && s.Verify != nil
	})
	s, _ := r.status()
	v := s.Verify
	if v.Error != "" || v.Files != 5 || v.Counts["missing_remote"] != 1 || v.Counts["size_mismatch"] != 1 ||
		v.Counts["hash_mismatch"] != 1 || v.Counts["remote_only"] != 1 || v.Failing != 3 {
		t.Errorf("status verify: got %+v", v)
	}
	m := get(t, "http://"+web+"/metrics")
	for _, line := range []string{`cloudkeep_verify_findings{reason="missing_remote"} 1`, `cloudkeep_verify_findings{reason="remote_only"} 1`,
		`cloudkeep_verify_findings{reason="not_uploaded"} 0`, "cloudkeep_verify_last_run_timestamp_seconds 1."} {
		if !strings.Contains(m, "\n"+line) {
			t.Errorf("no %q in the metrics:\n%s", line, m)
		}
	}
	text := w.run("status").stdout
	if !strings.Contains(text, ", 5 files, 1 missing_remote, 1 size_mismatch, 1 hash_mismatch, 1 remote_only (objects no journal row holds: not a failure) — run `cloudkeep verify --repair`\n") {
		t.Errorf("status:\n%s", text)
	}

	res := w.run("verify")
	if res.code != 1 {
		t.Fatalf("verify with the agent running: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	verifyLines(t, res.stdout, []string{want[0], want[1], want[2], want[4]}, "verified 5 files")
	// Queued is not stored: exit 1, in JSON as in text (see
	// TestVerify_SharedKeyOfAnotherDevice).
	res = w.run("verify", "--repair", "--json")
	var out struct {
		OK     bool           `json:"ok"`
		Counts map[string]int `json:"counts"`
		Repair struct {
			By     string `json:"by"`
			Queued int    `json:"queued"`
		} `json:"repair"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil || res.code != 1 || out.OK || out.Repair.By != "agent" ||
		out.Repair.Queued != 3 || out.Counts["missing_remote"] != 1 || len(out.Counts) != 5 {
		t.Fatalf("verify --repair --json: exit %d, %v, %+v\n%s%s", res.code, err, out, res.stdout, res.stderr)
	}
	w.eventually(20*time.Second, "the agent uploaded the files again", func() bool {
		for name, sum := range sums {
			if w.verifySHA256(verifyKey(name)) != sum {
				return false
			}
		}
		return true
	})
	// Once the repaired files are done, the agent verifies again: the
	// status and the metrics drop the mended findings.
	w.eventually(20*time.Second, "the status drops the repaired findings", func() bool {
		s, ok := r.status()
		return ok && s.Verify != nil && s.Verify.Failing == 0 && s.Verify.Counts["missing_remote"] == 0
	})
	if m := get(t, "http://"+web+"/metrics"); !strings.Contains(m, "\n"+`cloudkeep_verify_findings{reason="missing_remote"} 0`) {
		t.Errorf("metrics after the repair:\n%s", m)
	}
	if text := w.run("status").stdout; !strings.Contains(text, ", 5 files, all stored, 1 remote_only") {
		t.Errorf("status after the repair:\n%s", text)
	}
	w.eventually(10*time.Second, "verify finds all stored", func() bool {
		return w.run("verify").code == 0
	})
	if code, _ := r.stop(); code != 0 {
		t.Errorf("agent exit %d", code)
	}
}

// verifyDevice makes another device of w's user on w's storage, with the
// same key template.
func verifyDevice(t *testing.T, w *world, name, storageExtra string) *world {
	d := newWorldOn(t, w.srv, "")
	d.top = w.top
	d.writeConfig(storageExtra)
	b, err := os.ReadFile(d.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.config, bytes.Replace(b, []byte("name: laptop"), []byte("name: "+name), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// verifyDated writes a photo of size bytes at name, dated January 2024
// (the month of its key), and returns its sha256.
func (w *world) verifyDated(name string, size int64, seed uint64) string {
	w.t.Helper()
	sum := w.file(name, jpegHeader(w.t), size, seed)
	jan := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(w.photos, name), jan, jan); err != nil {
		w.t.Fatal(err)
	}
	return sum
}

// With keys shared by the devices, a key this device's object was deleted
// from and another device then stored its own file under is not this
// device's to replace: verify names it missing_remote, and the repair
// stores this device's file under a suffixed key, with or without the
// agent, and leaves the other device's object as it is.
func TestVerify_SharedKeyOfAnotherDevice(t *testing.T) {
	t.Parallel()
	shared := "  key_template: \"{user}/{year}/{month}/{name}\"\n"
	laptop := newWorld(t)
	laptop.top = "media:\n  thumbnails: false\n"
	laptop.writeConfig(shared)
	phone := verifyDevice(t, laptop, "phone", shared)
	ctx := context.Background()
	mine, theirs := map[string]string{}, map[string]string{}
	for i, name := range []string{"IMG_0000.jpg", "IMG_0001.jpg", "IMG_0002.jpg"} {
		mine[name] = laptop.verifyDated(name, 833, uint64(i+1))
	}
	if res := laptop.run("backup"); res.code != 0 {
		t.Fatalf("laptop backup: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	// The laptop's object is deleted behind its back, and the phone stores
	// its own photo of that name, legitimately, under the freed key.
	takeOver := func(names ...string) {
		t.Helper()
		for i, name := range names {
			if err := laptop.srv.Client.RemoveObject(ctx, laptop.srv.Bucket, "alice/2024/01/"+name, minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
			theirs[name] = phone.verifyDated(name, 838, uint64(i+10))
		}
		if res := phone.run("backup"); res.code != 0 {
			t.Fatalf("phone backup: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
	}
	checkPhone := func(when string) {
		t.Helper()
		for name, sum := range theirs {
			if got := laptop.contentSHA256("alice/2024/01/" + name); got != sum {
				t.Fatalf("after %s: the phone's %s: sha256 %s, want %s (replaced by the laptop's)", when, name, got, sum)
			}
		}
	}
	checkMine := func(names ...string) {
		t.Helper()
		for _, name := range names {
			key := "alice/2024/01/" + strings.TrimSuffix(name, ".jpg") + "~" + mine[name][:8] + ".jpg"
			if got := laptop.contentSHA256(key); got != mine[name] {
				t.Errorf("the laptop's %s under %s: sha256 %q, want %s", name, key, got, mine[name])
			}
		}
	}
	takeOver("IMG_0000.jpg", "IMG_0001.jpg")
	checkPhone("the phone's backup")

	res := laptop.run("verify")
	line := "missing_remote  " + filepath.Join(laptop.photos, "IMG_0000.jpg") + "  stored " + time.Now().Format("2006-01-02") +
		"; the key now holds another device's file (phone)"
	if res.code != 1 || !strings.Contains(res.stdout, line+"\n") || strings.Contains(res.stdout, "size_mismatch") {
		t.Fatalf("laptop verify: exit %d, want 1 and %q\n%s%s", res.code, line, res.stdout, res.stderr)
	}
	if res := laptop.run("verify", "--repair"); res.code != 0 {
		t.Fatalf("laptop verify --repair: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	checkPhone("the laptop's verify --repair")
	checkMine("IMG_0000.jpg", "IMG_0001.jpg")
	if res := phone.run("verify"); res.code != 0 {
		t.Errorf("phone verify: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// Through the agent, with the periodic verify off: the repair still
	// has it verify again once the files are done.
	takeOver("IMG_0002.jpg")
	laptop.top += "verify_interval: 0\n"
	laptop.writeConfig(shared)
	r := laptop.startAgent()
	res = laptop.run("verify", "--repair")
	if res.code != 1 || !strings.Contains(res.stdout, "repair: the agent queued 1 file(s) again") ||
		!strings.Contains(res.stderr, "queued: run `cloudkeep verify` again once `cloudkeep status` shows the uploads done") {
		t.Fatalf("laptop verify --repair with the agent: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	laptop.eventually(20*time.Second, "the laptop verifies all stored", func() bool { return laptop.run("verify").code == 0 })
	laptop.eventually(20*time.Second, "the agent verifies after the repair", func() bool {
		s, ok := r.status()
		return ok && s.Verify != nil && s.Verify.Failing == 0 && s.Verify.Files == 3
	})
	checkPhone("the agent's repair")
	checkMine("IMG_0002.jpg")
	if code, _ := r.stop(); code != 0 {
		t.Errorf("agent exit %d", code)
	}
}

// A file --deep finds damaged (same size and time, other bytes) is never
// uploaded by --repair, even once its object is gone too: it stays
// reported, with the key that still holds its stored content.
func TestVerify_DeepRepairKeepsDamagedFile(t *testing.T) {
	t.Parallel()
	w, sums := verifyWorld(t, 2)
	if sum := w.file("copy.jpg", jpegHeader(t), 20<<10, 2); sum != sums["IMG_2.jpg"] {
		t.Fatalf("copy.jpg: sha256 %s, want IMG_2.jpg's %s", sum, sums["IMG_2.jpg"])
	}
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	path := filepath.Join(w.photos, "IMG_2.jpg")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("rot"), 100)
	f.Close()
	os.Chtimes(path, fi.ModTime(), fi.ModTime())
	if err := w.srv.Client.RemoveObject(context.Background(), w.srv.Bucket, verifyKey("IMG_2.jpg"), minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		res := w.run("verify", "--deep", "--repair")
		if res.code != 1 || !strings.Contains(res.stdout, "missing_remote  "+path+"  stored ") ||
			!strings.Contains(res.stdout, ", the object is gone; not uploaded again: the file's content differs from its backup\n") ||
			!strings.Contains(res.stdout, "; its stored content is also under "+verifyKey("copy.jpg")+": `cloudkeep restore` can bring it back\n") ||
			!strings.Contains(res.stderr, "nothing verify can repair") {
			t.Fatalf("verify --deep --repair: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		if got := w.verifySHA256(verifyKey("IMG_2.jpg")); got != "" {
			t.Fatalf("the damaged IMG_2.jpg was uploaded (sha256 %s)", got)
		}
	}
}

// Without an agent, --json --repair keeps the findings from before the
// repair, adds what the repair did and the verify after it, and exits 0
// once all is stored; counts always hold every reason.
func TestVerify_RepairJSON(t *testing.T) {
	t.Parallel()
	w, sums := verifyWorld(t, 2)
	if err := w.srv.Client.RemoveObject(context.Background(), w.srv.Bucket, verifyKey("IMG_1.jpg"), minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	res := w.run("verify", "--repair", "--json")
	var out struct {
		OK       bool              `json:"ok"`
		Counts   map[string]int    `json:"counts"`
		Findings []json.RawMessage `json:"findings"`
		Repair   struct {
			By     string `json:"by"`
			Queued int    `json:"queued"`
			After  struct {
				Failing int            `json:"failing"`
				Counts  map[string]int `json:"counts"`
			} `json:"after"`
		} `json:"repair"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil || res.code != 0 {
		t.Fatalf("verify --repair --json: exit %d, %v\n%s%s", res.code, err, res.stdout, res.stderr)
	}
	want := map[string]int{"not_uploaded": 0, "missing_remote": 1, "size_mismatch": 0, "hash_mismatch": 0, "remote_only": 0}
	if !out.OK || len(out.Findings) != 1 || fmt.Sprint(out.Counts) != fmt.Sprint(want) || out.Repair.By != "verify" ||
		out.Repair.Queued != 1 || out.Repair.After.Failing != 0 || len(out.Repair.After.Counts) != 5 {
		t.Errorf("verify --repair --json: got %+v", out)
	}
	if got := w.verifySHA256(verifyKey("IMG_1.jpg")); got != sums["IMG_1.jpg"] {
		t.Errorf("IMG_1.jpg after the repair: sha256 %q, want %s", got, sums["IMG_1.jpg"])
	}
}

// A lost journal (a new state_dir, the objects stored): verify says so
// plainly, proposes no --repair, and creates no journal.
func TestVerify_LostJournal(t *testing.T) {
	t.Parallel()
	w, _ := verifyWorld(t, 3)
	w.state = filepath.Join(w.dir, "state2")
	if err := os.Mkdir(w.state, 0o777); err != nil {
		t.Fatal(err)
	}
	w.writeConfig("")
	res := w.run("verify")
	if res.code != 1 || !strings.Contains(res.stdout, "the journal is empty: run `cloudkeep backup` to rebuild it — files already stored are found, not sent again\n") ||
		strings.Contains(res.stdout, "--repair") {
		t.Fatalf("verify: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(w.state, "journal.db")); err == nil {
		t.Error("verify created a journal")
	}
	if res := w.run("backup"); res.code != 0 || !strings.Contains(res.stdout, "3 already stored") {
		t.Fatalf("backup: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := w.run("verify"); res.code != 0 {
		t.Errorf("verify after the backup: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// Odd names are quoted, a missing folder is its own line, and a storage
// that does not answer ends verify soon, saying it cannot verify.
func TestVerify_OddNamesRootsAndOutage(t *testing.T) {
	t.Parallel()
	w, _ := verifyWorld(t, 1)
	odd := "new\nline\xff.jpg"
	w.file(odd, jpegHeader(t), 1000, 7)
	res := w.run("verify")
	if want := "not_uploaded    " + strconv.Quote(filepath.Join(w.photos, odd)) + "  not in the journal"; res.code != 1 || !strings.Contains(res.stdout, want) {
		t.Errorf("verify: exit %d, want %q\n%s%s", res.code, want, res.stdout, res.stderr)
	}
	if err := os.RemoveAll(w.photos); err != nil {
		t.Fatal(err)
	}
	res = w.run("verify")
	if res.code != 1 || !strings.HasPrefix(res.stdout, "root missing: "+w.photos+"\n") || strings.Contains(res.stdout, "not_uploaded") ||
		!strings.Contains(res.stdout, ": 1 watched folder(s) not walked\n") {
		t.Errorf("verify without the folder: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	w.proxy.Close()
	start := time.Now()
	res = w.run("verify")
	if took := time.Since(start); res.code != 1 || took > 15*time.Second || !strings.Contains(res.stderr, "storage unreachable: cannot verify") ||
		strings.Contains(res.stderr, "uploads wait") {
		t.Errorf("verify with the storage down: exit %d after %s\n%s%s", res.code, took, res.stdout, res.stderr)
	}
}

// A verify that finds all stored has the running agent verify again, so
// that its status drops the findings mended behind its back.
func TestVerify_ClearsAgentStatus(t *testing.T) {
	t.Parallel()
	w, _ := verifyWorld(t, 2)
	ctx := context.Background()
	keep := func(dst, src string) {
		t.Helper()
		_, err := w.srv.Client.CopyObject(ctx, minio.CopyDestOptions{Bucket: w.srv.Bucket, Object: dst}, minio.CopySrcOptions{Bucket: w.srv.Bucket, Object: src})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.srv.Client.RemoveObject(ctx, w.srv.Bucket, src, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	keep("aside/IMG_1.jpg", verifyKey("IMG_1.jpg"))
	w.env = append(w.env, "CLOUDKEEP_TEST_VERIFY_AFTER=100ms")
	r := w.startAgent()
	w.eventually(20*time.Second, "the light verify finds IMG_1.jpg gone", func() bool {
		s, ok := r.status()
		return ok && s.Verify != nil && s.Verify.Counts["missing_remote"] == 1
	})
	keep(verifyKey("IMG_1.jpg"), "aside/IMG_1.jpg")
	if res := w.run("verify"); res.code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	w.eventually(20*time.Second, "the status drops the finding", func() bool {
		s, ok := r.status()
		return ok && s.Verify != nil && s.Verify.Failing == 0
	})
	if code, _ := r.stop(); code != 0 {
		t.Errorf("agent exit %d", code)
	}
}
