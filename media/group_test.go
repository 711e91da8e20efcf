package media

import "testing"

func TestGroupStem(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"photo.jpg.xmp", "photo"},
		{"photo.xmp", "photo"},
		{"IMG_0001.HEIC", "img_0001"},
		{"IMG_0001.MOV", "img_0001"},
		{"IMG_0001.AAE", "img_0001"},
		{"DSC_0001.NEF", "dsc_0001"},
		{"DSC_0001.JPG", "dsc_0001"},
		{"PXL_20240131_101112345.RAW-01.COVER.jpg", "pxl_20240131_101112345"},
		{"PXL_20240131_101112345.RAW-02.ORIGINAL.dng", "pxl_20240131_101112345"},
		{"PXL_20240131_101112345.MP.jpg", "pxl_20240131_101112345"},
		{"2024/01/MVIMG_20240131_101112.jpg", "mvimg_20240131_101112"},
		{"2024.01.31 party.jpg", "2024.01.31 party"},
		{"notes.txt", "notes.txt"},
		{".jpg", ".jpg"},
		// One sidecar extension, then one media extension: a sidecar of a
		// sidecar, or a photo named like a sidecar, is not the photo's.
		{"IMG_0001.JPG.xmp.xmp", "img_0001.jpg.xmp"},
		{"IMG_0001.xmp.xmp", "img_0001.xmp"},
		{"IMG_0001.xmp.JPG", "img_0001.xmp"},
		{"IMG_0001.JPG.aae", "img_0001"},
		{"IMG_0001.JPG.JPG", "img_0001.jpg"},
		{"PXL_20240131_101112345.MP.jpg.xmp", "pxl_20240131_101112345"},
		{".xmp", ".xmp"},
		{".jpg.xmp", ".jpg"},
	} {
		if got := GroupStem(tc.name); got != tc.want {
			t.Errorf("GroupStem(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestGroupID(t *testing.T) {
	a := GroupID("laptop", "pictures", "2024", GroupStem("IMG_0001.HEIC"))
	if b := GroupID("laptop", "pictures", "2024", GroupStem("IMG_0001.MOV")); a != b {
		t.Errorf("Live Photo members: got %s and %s, want one ID", a, b)
	}
	if len(a) != 16 {
		t.Errorf("GroupID = %q, want 16 hex digits", a)
	}
	for _, other := range []string{
		GroupID("phone", "pictures", "2024", "img_0001"),
		GroupID("laptop", "camera", "2024", "img_0001"),
		GroupID("laptop", "pictures", "2023", "img_0001"),
		GroupID("laptop", "pictures", "2024", "img_0002"),
		GroupID("laptop", "pictures", "2024img_0001", ""), // the NUL keeps the parts apart
		GroupID("laptop", "pictures", "2024", GroupStem("IMG_0001.HEIC.xmp.xmp")),
	} {
		if other == a {
			t.Errorf("GroupID of another place = %s, the same as %s", other, a)
		}
	}
}
