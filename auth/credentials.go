// Package auth is the device side of an account: signing in (device flow
// or password plus code), the credentials file and refreshing tokens. The
// storage itself is reached through grants of the account service (package
// storage).
package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/atomicfile"
)

// ErrSignedOut means the device has no valid sign-in: never signed in,
// signed out, or disconnected on the account page. Retrying does not help.
var ErrSignedOut error = permanentError("signed out: run `cloudkeep login`")

type permanentError string

func (e permanentError) Error() string { return string(e) }

// Permanent tells retry loops to give up.
func (e permanentError) Permanent() bool { return true }

// Credentials is what a signed-in device keeps.
type Credentials struct {
	AccountURL   string    `json:"account_url"`
	ClientID     string    `json:"client_id"`
	AccountID    string    `json:"account_id"`
	DeviceID     string    `json:"device_id"`
	DeviceName   string    `json:"device_name"`
	AccessToken  string    `json:"access_token"`
	AccessIssued time.Time `json:"access_issued"`
	AccessExpiry time.Time `json:"access_expiry"`
	RefreshToken string    `json:"refresh_token"`
}

// FileName is the credentials file's name in the state directory.
const FileName = "credentials.json"

// File is the credentials file: written atomically with mode 0600, and
// refused when others may read it.
type File struct {
	Path string
}

// Load reads the credentials; ErrSignedOut when there are none. A file
// others may read is refused: its tokens may have leaked, and only
// `cloudkeep logout` (LoadExposed) still reads it, to revoke them.
func (f File) Load() (Credentials, error) {
	fi, err := os.Stat(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return Credentials{}, ErrSignedOut
	}
	if err != nil {
		return Credentials{}, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return Credentials{}, fmt.Errorf("credentials file %s can be read by others (mode %04o): its tokens may have leaked: run `cloudkeep logout` (it revokes them), then `cloudkeep login`",
			f.Path, perm)
	}
	return f.LoadExposed()
}

// LoadExposed reads the credentials whoever may read the file, so that
// logout can revoke tokens that may have leaked. Everything else uses Load.
func (f File) LoadExposed() (Credentials, error) {
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return Credentials{}, ErrSignedOut
	}
	if err != nil {
		return Credentials{}, err
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil || c.RefreshToken == "" {
		return Credentials{}, fmt.Errorf("credentials file %s is damaged: run `cloudkeep login`", f.Path)
	}
	return c, nil
}

// Save writes the credentials atomically with mode 0600: a crash leaves
// the old or the new tokens, never neither.
func (f File) Save(c Credentials) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(f.Path, b, 0o600)
}

// Delete removes the credentials.
func (f File) Delete() error {
	err := os.Remove(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// modTime returns the file's modification time, or zero.
func (f File) modTime() time.Time {
	fi, err := os.Stat(f.Path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}
