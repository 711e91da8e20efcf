//go:build !darwin && !windows

package freeup

import (
	"bufio"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Sweep removes the .trashinfo files a free-up killed between writing
// one and moving its file left behind: its file is not in the trash and
// its Path, in one of the watched folders roots, still holds the file.
// Any other entry of the trash, another program's, stays as it is. It
// returns the .trashinfo files removed.
func (t *Trash) Sweep(roots []string) []string {
	var removed []string
	for _, tr := range t.trashes(roots) {
		infos, _ := filepath.Glob(filepath.Join(tr.dir, "info", "*.trashinfo"))
		for _, info := range infos {
			name := strings.TrimSuffix(filepath.Base(info), ".trashinfo")
			if _, err := os.Lstat(filepath.Join(tr.dir, "files", name)); err == nil {
				continue
			}
			p, ok := trashedPath(info, tr.top)
			if !ok || !inAny(p, roots) {
				continue
			}
			if _, err := os.Lstat(p); err == nil && os.Remove(info) == nil {
				removed = append(removed, info)
			}
		}
	}
	return removed
}

// trashFolder is a trash and the folder its Paths are relative to ("" for
// the home trash, whose Paths are absolute).
type trashFolder struct{ dir, top string }

// trashes returns the home trash and the existing trashes of the volumes
// of roots.
func (t *Trash) trashes(roots []string) []trashFolder {
	out := []trashFolder{{dir: t.Home}}
	var home unix.Stat_t
	if unix.Stat(t.Home, &home) != nil {
		home.Dev = ^uint64(0)
	}
	uid := strconv.Itoa(os.Getuid())
	for _, r := range roots {
		var st unix.Stat_t
		if unix.Stat(r, &st) != nil || st.Dev == home.Dev {
			continue
		}
		top, err := topDir(filepath.Join(r, "x"), st.Dev)
		if err != nil {
			continue
		}
		for _, dir := range []string{filepath.Join(top, ".Trash", uid), filepath.Join(top, ".Trash-"+uid)} {
			if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
				out = append(out, trashFolder{dir: dir, top: top})
			}
		}
	}
	return out
}

// trashedPath reads the Path of a .trashinfo, made absolute.
func trashedPath(info, top string) (string, bool) {
	f, err := os.Open(info)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "Path=")
		if !ok {
			continue
		}
		p, err := url.PathUnescape(v)
		if err != nil {
			return "", false
		}
		if !filepath.IsAbs(p) {
			if top == "" {
				return "", false
			}
			p = filepath.Join(top, p)
		}
		return p, true
	}
	return "", false
}

// inAny reports whether p is inside one of the folders roots.
func inAny(p string, roots []string) bool {
	for _, r := range roots {
		if rel, err := filepath.Rel(r, p); err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
