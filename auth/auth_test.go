package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFile_SaveLoad(t *testing.T) {
	f := File{Path: filepath.Join(t.TempDir(), "state", FileName)}
	if _, err := f.Load(); err != ErrSignedOut {
		t.Fatalf("no file: got %v, want ErrSignedOut", err)
	}
	c := Credentials{AccountID: "1234567890", RefreshToken: "r", AccessToken: "a", AccessExpiry: time.Unix(100, 0).UTC()}
	if err := f.Save(c); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(f.Path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := f.Load()
	if err != nil || got != c {
		t.Errorf("got %+v, %v", got, err)
	}
	os.Chmod(f.Path, 0o644)
	_, err = f.Load()
	want := "credentials file " + f.Path + " can be read by others (mode 0644): its tokens may have leaked: run `cloudkeep logout` (it revokes them), then `cloudkeep login`"
	if err == nil || err.Error() != want {
		t.Errorf("world-readable: got %v, want %s", err, want)
	}
	if got, err := f.LoadExposed(); err != nil || got != c {
		t.Errorf("world-readable, read to revoke: got %+v, %v, want %+v", got, err, c)
	}
	os.Chmod(f.Path, 0o600)
	os.WriteFile(f.Path, []byte("{"), 0o600)
	if _, err := f.Load(); err == nil || !strings.Contains(err.Error(), "is damaged") {
		t.Errorf("damaged: %v", err)
	}
}

func TestCredentials_NeedsRefresh(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, tc := range []struct {
		life, left time.Duration
		want       bool
	}{
		{15 * time.Minute, 2 * time.Minute, false},
		{15 * time.Minute, 59 * time.Second, true},
		{10 * time.Second, 3 * time.Second, false},
		{10 * time.Second, time.Second, true},
	} {
		c := Credentials{AccessIssued: now.Add(tc.left - tc.life), AccessExpiry: now.Add(tc.left)}
		if got := c.needsRefresh(now); got != tc.want {
			t.Errorf("life %s, %s left: got %v", tc.life, tc.left, got)
		}
	}
}
