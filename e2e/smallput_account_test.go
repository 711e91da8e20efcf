package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// In account mode a photo goes in one presigned PUT whose payload is not
// signed and whose CRC32C header is: a body corrupted on the way is
// refused by the storage and sent again, and the bucket holds its bytes.
func TestAccountMode_SinglePutUnsignedWithCRC32C(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	alice := s.signup("alice@example.com", "alice-pass-1")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, "alice@example.com", "alice-pass-1", "alice@example.com")
	sum := w.file("IMG_0001.jpg", jpegHeader(t), 300<<10, 1)
	key := alice + "/laptop/pictures/IMG_0001.jpg"
	s.proxy.Reset()
	s.proxy.CorruptPuts(1)
	res := w.run("backup")
	if res.code != 0 || !strings.Contains(res.stdout, "backed up 1 file(s)") {
		t.Fatalf("backup: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	var puts []string
	for _, r := range s.proxy.Requests() {
		if r.Method != http.MethodPut || strings.Contains(r.Target, "/.cloudkeep/") { // the manifest
			continue
		}
		u, err := url.Parse(r.Target)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
		if r.Header.Get("X-Amz-Checksum-Crc32c") == "" || !slices.Contains(signed, "x-amz-checksum-crc32c") || r.Header.Get("X-Amz-Content-Sha256") != "" {
			t.Errorf("PUT %s: headers %v; want an X-Amz-Checksum-Crc32c header among the signed ones, and no payload hash", u.Path, r.Header)
		}
		puts = append(puts, map[bool]string{true: "corrupted", false: "whole"}[r.Corrupted])
	}
	if strings.Join(puts, " ") != "corrupted whole" {
		t.Errorf("PUTs: %v, want a corrupted one, then a whole one", puts)
	}
	if got := w.contentSHA256(key); got != sum {
		t.Errorf("%s: bytes %s, want %s", key, got, sum)
	}
}
