package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// CheckSecretFileMode returns nil when the file at path exists and only
// its owner has any permission on it (mode 0600 or 0400). Otherwise it
// returns the error of os.Stat (fs.ErrNotExist when missing), or one that
// names the file, its mode and the fix:
//
//	/etc/cloudkeep/smtp can be read by others (mode 0644): run `chmod 600 /etc/cloudkeep/smtp`
func CheckSecretFileMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s can be read by others (mode %04o): run `chmod 600 %s`", path, perm, path)
	}
	return nil
}

// ReadSecretFile returns the secret held in the file at path without its
// surrounding white space, after CheckSecretFileMode. An empty file is an
// error, and so is one the running user may not read (the error says whose
// it must be).
func ReadSecretFile(path string) (string, error) {
	if err := CheckSecretFileMode(path); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrPermission) {
		who := strconv.Itoa(os.Geteuid())
		if u, uerr := user.Current(); uerr == nil {
			who = u.Username
		}
		return "", fmt.Errorf("%s cannot be read by %s, the user this runs as: run `chown %s %s`", path, who, who, path)
	}
	if err != nil {
		return "", err
	}
	secret := strings.TrimSpace(string(b))
	if secret == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return secret, nil
}

// secretFile reports, under key, a secret file that is missing or that
// others may read. An empty path is not checked.
func (v *validator) secretFile(key, path string) {
	if path == "" {
		return
	}
	if err := CheckSecretFileMode(path); err != nil {
		v.add(key, "%v", err)
	}
}
