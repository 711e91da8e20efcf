package freeup

// SystemTrash fails on Windows: its Recycle Bin is not supported.
func SystemTrash() (*Trash, error) { return nil, ErrNoTrash }

// Move fails on Windows.
func (t *Trash) Move(path string) (string, error) { return "", ErrNoTrash }
