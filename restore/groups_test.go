package restore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/restore"
)

func items(group string, rels ...string) []restore.Item {
	var out []restore.Item
	for _, rel := range rels {
		out = append(out, restore.Item{Key: "alice/" + rel, Rel: rel, Group: group, Size: 1})
	}
	return out
}

// describe is "main + partners (kind)" of each asset.
func describe(assets []restore.Asset) []string {
	var out []string
	for _, a := range assets {
		var rels []string
		for _, it := range a.Items {
			rels = append(rels, it.Rel)
		}
		out = append(out, fmt.Sprintf("%s (%s) %d", strings.Join(rels, " + "), a.Kind(), a.Size()))
	}
	return out
}

// Files of one group are one asset, the photo first, then RAW, video,
// sidecars; a group of which one file is listed is that file alone.
func TestAssets(t *testing.T) {
	var all []restore.Item
	all = append(all, items("a1", "p/IMG_0001.AAE", "p/IMG_0001.HEIC", "p/IMG_0001.MOV")...)
	all = append(all, items("b2", "p/DSC_0002.JPG", "p/DSC_0002.NEF")...)
	all = append(all, items("c3", "p/PXL_3.RAW-01.COVER.jpg", "p/PXL_3.RAW-02.ORIGINAL.dng")...)
	all = append(all, items("d4", "p/alone.jpg")...)
	all = append(all, items("e5", "p/photo.jpg", "p/photo.jpg.xmp")...)
	all = append(all, items("", "p/plain.png", "p/unknown.png")...)
	all = append(all, items("f6", "p/IMG_0007.HEIC")...) // its video is not listed
	motion := items("g7", "p/PXL_8.MP.jpg")
	motion[0].Motion = true
	all = append(all, motion...)
	all = append(all, items("h8", "p/clip_a.mp4", "p/clip_a.mov")...)
	got := describe(restore.Assets(all))
	want := []string{
		"p/IMG_0001.HEIC + p/IMG_0001.MOV + p/IMG_0001.AAE (Live Photo, sidecar) 3",
		"p/DSC_0002.JPG + p/DSC_0002.NEF (RAW+JPEG) 2",
		"p/PXL_3.RAW-01.COVER.jpg + p/PXL_3.RAW-02.ORIGINAL.dng (RAW+JPEG) 2",
		"p/alone.jpg () 1",
		"p/photo.jpg + p/photo.jpg.xmp (sidecar) 2",
		"p/plain.png () 1",
		"p/unknown.png () 1",
		"p/IMG_0007.HEIC () 1",
		"p/PXL_8.MP.jpg (motion photo) 1",
		"p/clip_a.mov + p/clip_a.mp4 (group) 2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The partners of a selection are the other files of its groups, once.
func TestPartners(t *testing.T) {
	all := append(items("a1", "p/IMG_0001.AAE", "p/IMG_0001.HEIC", "p/IMG_0001.MOV"), items("", "p/x.jpg", "p/y.jpg")...)
	all = append(all, items("b2", "p/IMG_0002.HEIC", "p/IMG_0002.MOV")...)
	for _, tc := range []struct {
		name     string
		selected []restore.Item
		want     string
	}{
		{"one of three", all[1:2], "p/IMG_0001.AAE p/IMG_0001.MOV"},
		{"two of three", all[1:3], "p/IMG_0001.AAE"},
		{"no group", all[3:4], ""},
		{"two groups", []restore.Item{all[0], all[5]}, "p/IMG_0001.HEIC p/IMG_0001.MOV p/IMG_0002.MOV"},
		{"all", all, ""},
	} {
		var got []string
		for _, it := range restore.Partners(all, tc.selected) {
			got = append(got, it.Rel)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, strings.Join(got, " "), tc.want)
		}
	}
}
