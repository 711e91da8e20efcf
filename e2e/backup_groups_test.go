package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
)

// One `cloudkeep backup` stores each member of a group beside its main
// photo when the photo takes a suffix (another device holds its name of
// January), even when the member comes first in the folder: the RAW of
// RAW+JPEG (DSC_0001.DNG before DSC_0001.JPG), a sidecar of that RAW, and
// a Live Photo's video. The other device's objects stay as they were, and
// each file is counted once. With one upload at a time, a member met
// before its photo was keyed from the template before.
func TestBackup_GroupMembersFollowSuffixedPhoto(t *testing.T) {
	t.Parallel()
	for _, files := range []int{1, 4} {
		t.Run(fmt.Sprintf("files=%d", files), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.writeConfig(fmt.Sprintf("  key_template: \"{user}/{year}/{month}/{name}\"\n  concurrency:\n    files: %d\n", files))
			exif := mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+01:00", Make: "Nikon"}
			theirs := map[string]string{
				"alice/2024/01/DSC_0001.JPG": w.putObject("alice/2024/01/DSC_0001.JPG", "phone", mediatest.JPEG(t, 48, 48, exif)),
				"alice/2024/01/IMG_0001.JPG": w.putObject("alice/2024/01/IMG_0001.JPG", "phone", mediatest.JPEG(t, 40, 48, exif)),
			}
			old := time.Date(2024, 2, 1, 12, 0, 0, 0, time.Local)
			dng := w.writeMedia("DSC_0001.DNG", mediatest.DNG(t, exif, 64, 48), old)
			jpg := w.writeMedia("DSC_0001.JPG", mediatest.JPEG(t, 64, 48, exif), old)
			side := w.writeMedia("DSC_0001.xmp", []byte(xmp(3)), old)
			still := w.writeMedia("IMG_0001.JPG", mediatest.JPEG(t, 72, 48, exif), old)
			video := w.writeMedia("IMG_0001.MOV", mediatest.MOV(t, mediatest.MOVMeta{
				Created: time.Date(2024, 1, 31, 13, 5, 0, 0, time.UTC), CreationDate: "2024-01-31T14:05:00+0100", ContentID: "A1"}), old)

			res := w.backupOK()

			d, i := "alice/2024/01/DSC_0001~"+jpg[:8], "alice/2024/01/IMG_0001~"+still[:8]
			want := map[string]string{
				d + ".JPG": jpg, d + ".DNG": dng, d + ".xmp": side,
				i + ".JPG": still, i + ".MOV": video,
			}
			for k, sum := range theirs {
				want[k] = sum
			}
			if got := w.backedUp(); !sameMap(got, want) {
				t.Fatalf("bucket: %v\nwant %v", got, want)
			}
			if !strings.Contains(res.stdout, ": 5 uploaded") || !strings.Contains(res.stdout, "0 failed") {
				t.Errorf("summary %q, want 5 uploaded, 0 failed", res.stdout)
			}
			for _, set := range [][]string{{d + ".JPG", d + ".DNG", d + ".xmp"}, {i + ".JPG", i + ".MOV"}} {
				g := w.objectMeta(set[0])["Group"]
				for _, k := range set[1:] {
					if m := w.objectMeta(k); g == "" || m["Group"] != g {
						t.Errorf("%s: Group %q, want its photo's %q", k, m["Group"], g)
					}
				}
			}
			// Nothing is left to send: a second pass uploads nothing.
			if res := w.backupOK(); !strings.Contains(res.stdout, ": 0 uploaded") {
				t.Errorf("second backup: %q, want 0 uploaded", res.stdout)
			}
		})
	}
}
