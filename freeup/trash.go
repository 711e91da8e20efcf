// Package freeup frees local space for photos and videos whose backup is
// proven: the object is in the storage under the file's key, with its size
// and the SHA-256 of the file read now. The files go to the system trash,
// from where the user can still take them back.
package freeup

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Trash moves files to the system trash. On Linux and the other free
// systems it follows the freedesktop.org Trash specification: the home
// trash ($XDG_DATA_HOME/Trash), or the trash of the file's own volume when
// it lives on another file system. On macOS it is ~/.Trash. Windows has
// none here: use --delete there.
type Trash struct {
	// Home is the home trash folder.
	Home string
	// Now is the clock of the deletion dates; time.Now when nil.
	Now func() time.Time
}

// ErrNoTrash means the system has no trash cloudkeep can move files to.
var ErrNoTrash = errors.New("no system trash on this system: use --delete to delete the files instead")

func (t *Trash) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// candidate returns the n-th name tried for a file named name in a trash
// folder: name itself first, then "IMG_1.2.jpg", "IMG_1.3.jpg"…
func candidate(name string, n int) string {
	if n < 2 {
		return name
	}
	ext := filepath.Ext(name)
	if ext == name {
		ext = "" // ".hidden": no extension
	}
	return strings.TrimSuffix(name, ext) + "." + strconv.Itoa(n) + ext
}

// maxTries bounds the search for a free name in a trash folder.
const maxTries = 10000

// maxName is the longest name most file systems take (NAME_MAX), less
// what the trash adds: ".trashinfo" and a number up to maxTries.
const maxName = 255 - len(".trashinfo") - len(".10000")

// trashName returns the name a file named name takes in the trash:
// name itself, or when too long for its .trashinfo, name shortened to fit
// with its extension kept. The .trashinfo still records the whole path.
func trashName(name string) string {
	if len(name) <= maxName {
		return name
	}
	ext := filepath.Ext(name)
	if len(ext) > 32 {
		ext = "" // no extension, a long dotted name
	}
	cut := maxName - len(ext)
	for cut > 0 && !utf8.RuneStart(name[cut]) { // on a character's boundary
		cut--
	}
	return name[:cut] + ext
}
