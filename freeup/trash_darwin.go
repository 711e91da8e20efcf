package freeup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SystemTrash returns the user's trash, ~/.Trash.
func SystemTrash() (*Trash, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("find the trash: %w", err)
	}
	return &Trash{Home: filepath.Join(home, ".Trash")}, nil
}

// Move moves the file at path into the trash folder under a free name
// ("IMG_1.2.jpg" when "IMG_1.jpg" is taken) and returns where it went. A
// file on another volume than the home folder is not moved.
func (t *Trash) Move(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	base := trashName(filepath.Base(abs))
	for n := 1; n <= maxTries; n++ {
		to := filepath.Join(t.Home, candidate(base, n))
		err := renameNoReplace(abs, to)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("move %s to the trash: %w", abs, err)
		}
		return to, nil
	}
	return "", fmt.Errorf("move %s to the trash: no free name in %s", abs, t.Home)
}
