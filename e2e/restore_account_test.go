package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// In account mode the keys start with the account ID, and copies go
// through the account service: `restore --to-roots` puts the files back so
// that the next backup sends and copies nothing, and a copy of a photo is
// stored by a server-side copy the service makes, not sent.
func TestAccountMode_RestoreToRootsAndCopies(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	id := s.signup("dora@example.com", "dora-pass-44")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, "dora@example.com", "dora-pass-44", "dora@example.com")
	want := map[string]string{
		"2024/IMG_1.jpg": w.file("2024/IMG_1.jpg", jpegHeader(t), 200<<10, 1),
		"VID.mp4":        w.file("VID.mp4", mp4Header, 7*MiB, 2),
	}
	if res := w.run("backup"); res.code != 0 {
		t.Fatalf("backup: %d %s %s", res.code, res.stdout, res.stderr)
	}
	wipe(t, w.photos)
	res := w.run("restore", "--to-roots")
	if res.code != 0 || !strings.Contains(res.stdout, "restored 2 file(s)") {
		t.Fatalf("restore --to-roots: %d %q %q", res.code, res.stdout, res.stderr)
	}
	for rel, sum := range want {
		if got := w.fileSHA256(filepath.Join(w.photos, rel)); got != sum {
			t.Errorf("%s: sha256 %s, want %s", rel, got, sum)
		}
	}
	s.proxy.Reset()
	if res := w.run("backup"); res.code != 0 || !strings.Contains(res.stdout, "0 uploaded (0 B sent), 0 copied on the server; 0 already stored, 2 unchanged") {
		t.Errorf("backup after the restore: %d %q", res.code, res.stdout)
	}

	b, _ := os.ReadFile(filepath.Join(w.photos, "VID.mp4"))
	os.WriteFile(filepath.Join(w.photos, "VID copy.mp4"), b, 0o644)
	res = w.run("backup")
	if res.code != 0 || !strings.Contains(res.stdout, "0 uploaded (0 B sent), 1 copied on the server") {
		t.Errorf("backup of a copy: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if got := w.contentSHA256(id + "/laptop/pictures/VID copy.mp4"); got != want["VID.mp4"] {
		t.Errorf("the copy holds %s, want %s", got, want["VID.mp4"])
	}
	if sent := s.proxy.Sent(); sent > 64<<10 {
		t.Errorf("%d bytes reached the storage, want server-side copies only", sent)
	}
}
