package manifest

// SetMaxSize sets the bound of a decompressed manifest until the returned
// func is called.
func SetMaxSize(n int64) (restore func()) {
	old := maxSize
	maxSize = n
	return func() { maxSize = old }
}
