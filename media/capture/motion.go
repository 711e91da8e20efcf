package capture

import (
	"bytes"
	"regexp"
	"strings"
)

// motionWindow is how much of a still's start (its XMP) and end (a
// Samsung trailer) is searched for motion photo markers.
const motionWindow = 64 << 10

// motionName says whether a file name is a Google motion photo's:
// MVIMG_*.jpg or *.MP.jpg.
func motionName(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasPrefix(lower, "mvimg_") || strings.HasSuffix(lower, ".mp.jpg") ||
		strings.HasSuffix(lower, ".mp.jpeg")
}

// motionXMP matches the XMP properties that mark a motion photo, as an
// attribute (GCamera:MotionPhoto="1") or an element
// (<GCamera:MotionPhoto>1</GCamera:MotionPhoto>).
var motionXMP = regexp.MustCompile(`(?:Camera:MotionPhoto|Camera:MicroVideo)(?:\s*=\s*["']1["']|>\s*1\s*<)`)

// samsungTrailer marks the video a Samsung motion photo appends.
var samsungTrailer = []byte("MotionPhoto_Data")

// motionBytes looks for motion photo markers in the first and last
// motionWindow bytes of the file.
func motionBytes(f *counter, size int64) bool {
	head := make([]byte, min(size, motionWindow))
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	if bytes.Contains(head, samsungTrailer) || hasMotionXMP(head) {
		return true
	}
	if size <= motionWindow {
		return false
	}
	tail := make([]byte, min(size-motionWindow, motionWindow))
	n, _ = f.ReadAt(tail, size-int64(len(tail)))
	return bytes.Contains(tail[:n], samsungTrailer)
}

// hasMotionXMP looks for the XMP property, with a plain search first: the
// pattern is slow on the many KiB of a JPEG's start.
func hasMotionXMP(b []byte) bool {
	return (bytes.Contains(b, []byte("Camera:MotionPhoto")) || bytes.Contains(b, []byte("Camera:MicroVideo"))) &&
		motionXMP.Match(b)
}
