//go:build !darwin && !windows

package freeup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// SystemTrash returns the home trash of the freedesktop.org Trash
// specification: $XDG_DATA_HOME/Trash, by default ~/.local/share/Trash.
func SystemTrash() (*Trash, error) {
	data := os.Getenv("XDG_DATA_HOME")
	if !filepath.IsAbs(data) { // the base directory spec ignores a relative path
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("find the trash: %w", err)
		}
		data = filepath.Join(home, ".local", "share")
	}
	return &Trash{Home: filepath.Join(data, "Trash")}, nil
}

// Move moves the file at path to the trash and returns where it went.
// The file goes to the home trash when it is on the same file system, to
// its volume's trash ($topdir/.Trash/$uid, or $topdir/.Trash-$uid)
// otherwise: a file is never copied across file systems. The
// .trashinfo is written first, created exclusively, and the file is
// renamed after it, never over another one.
func (t *Trash) Move(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	dir, rel, err := t.trashFor(abs)
	if err != nil {
		return "", fmt.Errorf("move %s to the trash: %w", abs, err)
	}
	for _, sub := range []string{"files", "info"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return "", fmt.Errorf("move %s to the trash: %w", abs, err)
		}
	}
	info := "[Trash Info]\nPath=" + escapePath(rel) + "\nDeletionDate=" + t.now().Format("2006-01-02T15:04:05") + "\n"
	base := trashName(filepath.Base(abs))
	for n := 1; n <= maxTries; n++ {
		name := candidate(base, n)
		infoPath := filepath.Join(dir, "info", name+".trashinfo")
		f, err := os.OpenFile(infoPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("move %s to the trash: %w", abs, err)
		}
		_, err = f.WriteString(info)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(infoPath)
			return "", fmt.Errorf("move %s to the trash: %w", abs, err)
		}
		to := filepath.Join(dir, "files", name)
		err = renameNoReplace(abs, to)
		if errors.Is(err, fs.ErrExist) {
			os.Remove(infoPath) // a file without its .trashinfo holds the name
			continue
		}
		if err != nil {
			os.Remove(infoPath)
			return "", fmt.Errorf("move %s to the trash: %w", abs, err)
		}
		return to, nil
	}
	return "", fmt.Errorf("move %s to the trash: no free name in %s", abs, dir)
}

// trashFor returns the trash folder for the file at abs and the Path its
// .trashinfo records: abs for the home trash, the path from the volume's
// top folder for a volume's trash, as the specification allows.
func (t *Trash) trashFor(abs string) (dir, rel string, err error) {
	var file unix.Stat_t
	if err := unix.Lstat(abs, &file); err != nil {
		return "", "", &fs.PathError{Op: "stat", Path: abs, Err: err}
	}
	if err := os.MkdirAll(t.Home, 0o700); err != nil {
		return "", "", err
	}
	var home unix.Stat_t
	if err := unix.Stat(t.Home, &home); err != nil {
		return "", "", &fs.PathError{Op: "stat", Path: t.Home, Err: err}
	}
	if home.Dev == file.Dev {
		return t.Home, abs, nil
	}
	top, err := topDir(abs, file.Dev)
	if err != nil {
		return "", "", err
	}
	rel, err = filepath.Rel(top, abs)
	if err != nil {
		return "", "", err
	}
	dir, err = volumeTrash(top)
	return dir, rel, err
}

// topDir returns the top folder of the file system (device dev) that
// holds abs: the last folder up from it on the same device.
func topDir(abs string, dev uint64) (string, error) {
	dir := filepath.Dir(abs)
	for dir != "/" {
		var st unix.Stat_t
		parent := filepath.Dir(dir)
		if err := unix.Stat(parent, &st); err != nil {
			return "", &fs.PathError{Op: "stat", Path: parent, Err: err}
		}
		if st.Dev != dev {
			return dir, nil
		}
		dir = parent
	}
	return dir, nil
}

// volumeTrash returns the trash of the volume whose top folder is top:
// $top/.Trash/$uid when the administrator made $top/.Trash (a real folder
// with the sticky bit), else $top/.Trash-$uid, made if needed.
func volumeTrash(top string) (string, error) {
	uid := strconv.Itoa(os.Getuid())
	shared := filepath.Join(top, ".Trash")
	if fi, err := os.Lstat(shared); err == nil && fi.IsDir() && fi.Mode()&fs.ModeSticky != 0 {
		dir := filepath.Join(shared, uid)
		if err := os.Mkdir(dir, 0o700); err == nil || errors.Is(err, fs.ErrExist) {
			if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
				return dir, nil
			}
		}
	}
	dir := filepath.Join(top, ".Trash-"+uid)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("no trash on the volume at %s: %w", top, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() || int(fi.Sys().(*syscall.Stat_t).Uid) != os.Getuid() {
		return "", fmt.Errorf("no trash on the volume at %s: %s is not a folder of this user", top, dir)
	}
	return dir, nil
}

// escapePath escapes a path as a .trashinfo's Path key wants it, like the
// path of a URL: every byte but ASCII letters, digits, "-._~" and "/" as
// %XX.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
