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
// names the file, who besides its owner may use it, its mode and the fix:
//
//	/etc/cloudkeep/smtp can be read by others (mode 0644): run `chmod 600 /etc/cloudkeep/smtp`
//	/etc/cloudkeep/smtp can be read by its group cloudkeep (mode 0640): run `chmod 600 /etc/cloudkeep/smtp`
func CheckSecretFileMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	perm := fi.Mode().Perm()
	var who string
	switch {
	case perm&0o007 != 0:
		who = "can be read by others"
	case perm&0o040 != 0:
		who = "can be read by its group" + groupName(fi)
	case perm&0o030 != 0:
		who = "can be changed by its group" + groupName(fi)
	default:
		return nil
	}
	return fmt.Errorf("%s %s (mode %04o): run `chmod 600 %s`", path, who, perm, path)
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
