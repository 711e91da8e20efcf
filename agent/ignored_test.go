package agent

import "testing"

func TestIgnoredPath(t *testing.T) {
	for rel, want := range map[string]bool{
		"2024/IMG_1.jpg":                       false,
		"2024/IMG_1.jpg.cloudkeep-part":        true, // a restore still writing it
		"laptop/pictures/a.jpg.cloudkeep-part": true,
		".thumbnails/a.jpg":                    true,
		"2024/video.mp4.part":                  true,
	} {
		if got := ignoredPath(rel); got != want {
			t.Errorf("ignoredPath(%q) = %v, want %v", rel, got, want)
		}
	}
}
