package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/internal/mediatest"
	"github.com/cloudkeep/cloudkeep/media"
)

// The members of a group land with one Group metadata, whichever arrives
// first and seconds apart: Live Photos (HEIC + MOV), RAW + JPEG, Pixel's
// RAW pair. A motion photo is one file marked Motion-Photo.
func TestGroups_Pairs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("")
	r := w.startAgent()
	exif := mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00", Make: "Apple", Model: "iPhone 15"}
	heic := func(n byte) []byte {
		return mediatest.HEIC(t, mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:0" + string('0'+n), OffsetTimeOriginal: "+09:00"})
	}
	mov := func(id string) []byte {
		return mediatest.MOV(t, mediatest.MOVMeta{Created: time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC), CreationDate: "2024-01-31T14:05:00+0900", ContentID: id})
	}
	const prefix = "alice/laptop/pictures/"
	now := time.Now()
	// One pair photo first, the other video first, each member once the
	// one before is stored.
	steps := []struct {
		rel string
		b   []byte
	}{
		{"IMG_0001.HEIC", heic(1)}, {"IMG_0001.MOV", mov("A1")},
		{"IMG_0002.MOV", mov("B2")}, {"IMG_0002.HEIC", heic(2)},
		{"DSC_0001.NEF", mediatest.DNG(t, exif, 64, 48)}, {"DSC_0001.JPG", mediatest.JPEG(t, 64, 48, exif)},
		{"PXL_20240131_101112345.RAW-02.ORIGINAL.dng", mediatest.DNG(t, exif, 32, 24)},
		{"PXL_20240131_101112345.RAW-01.COVER.jpg", mediatest.JPEG(t, 32, 24, exif)},
		{"MVIMG_20240131_101112.jpg", mediatest.WithXMP(t, mediatest.JPEG(t, 40, 30, exif), mediatest.MotionXMP)},
		{"MVIMG_20240131_999999.jpg", mediatest.JPEG(t, 40, 30, exif)}, // its video was edited out
		{"lone.jpg", mediatest.JPEG(t, 20, 20, exif)},
	}
	for _, s := range steps {
		sum := w.writeMedia(s.rel, s.b, now)
		w.eventually(20*time.Second, s.rel+" is stored", func() bool { return w.backedUp()[prefix+s.rel] == sum })
	}
	r.stop()
	group := func(rel string) string { return w.objectMeta(prefix + rel)["Group"] }
	for _, set := range [][]string{
		{"IMG_0001.HEIC", "IMG_0001.MOV"},
		{"IMG_0002.MOV", "IMG_0002.HEIC"},
		{"DSC_0001.NEF", "DSC_0001.JPG"},
		{"PXL_20240131_101112345.RAW-02.ORIGINAL.dng", "PXL_20240131_101112345.RAW-01.COVER.jpg"},
	} {
		want := media.GroupID("laptop", "pictures", "", media.GroupStem(set[0]))
		for _, rel := range set {
			if got := group(rel); got != want {
				t.Errorf("%s: Group %q, want %q, the group of %v", rel, got, want, set)
			}
		}
	}
	if a, b := group("IMG_0001.HEIC"), group("IMG_0002.HEIC"); a == b {
		t.Errorf("two Live Photos share the group %s", a)
	}
	for rel, want := range map[string]string{"MVIMG_20240131_101112.jpg": "true", "MVIMG_20240131_999999.jpg": "", "lone.jpg": "", "IMG_0001.HEIC": ""} {
		if got := w.objectMeta(prefix + rel)["Motion-Photo"]; got != want {
			t.Errorf("%s: Motion-Photo %q, want %q", rel, got, want)
		}
	}
	if got := group("lone.jpg"); len(got) != 16 {
		t.Errorf("lone.jpg: Group %q, want a group of its own", got)
	}
}

// A sidecar that appears after its photo is stored is uploaded beside the
// photo (dated by the photo, in its group), then again when it is edited;
// renamed with its photo, it follows the photo's new key; beside a photo
// that took a suffix, it takes the same.
func TestGroups_Sidecars(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("  key_template: \"{user}/{year}/{month}/{name}\"\n")
	r := w.startAgent()
	now := time.Now()
	exif := mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+01:00"}
	photo := w.writeMedia("photo.jpg", mediatest.JPEG(t, 64, 48, exif), now)
	w.eventually(20*time.Second, "the photo is stored", func() bool { return w.backedUp()["alice/2024/01/photo.jpg"] == photo })

	v1 := w.writeMedia("photo.jpg.xmp", []byte(xmp(1)), now)
	w.eventually(20*time.Second, "the sidecar is stored beside its photo", func() bool {
		return w.backedUp()["alice/2024/01/photo.jpg.xmp"] == v1
	})
	pm, sm := w.objectMeta("alice/2024/01/photo.jpg"), w.objectMeta("alice/2024/01/photo.jpg.xmp")
	if pm["Group"] == "" || sm["Group"] != pm["Group"] || sm["Capture-Time"] != "2024-01-31T14:05:00+01:00" {
		t.Errorf("sidecar metadata %v, want the photo's group %s and capture time", sm, pm["Group"])
	}

	v2 := w.writeMedia("photo.jpg.xmp", []byte(xmp(5)+"<!-- edited -->"), now.Add(time.Second))
	w.eventually(20*time.Second, "the edited sidecar is stored again", func() bool {
		return w.backedUp()["alice/2024/01/photo.jpg.xmp"] == v2
	})
	if got := w.contentSHA256("alice/2024/01/photo.jpg.xmp"); got != v2 {
		t.Errorf("sidecar object holds %s, want the edited bytes %s", got, v2)
	}

	rename(t, filepath.Join(w.photos, "photo.jpg"), filepath.Join(w.photos, "b.jpg"))
	rename(t, filepath.Join(w.photos, "photo.jpg.xmp"), filepath.Join(w.photos, "b.jpg.xmp"))
	w.eventually(20*time.Second, "the renamed photo and sidecar are stored under the new name", func() bool {
		got := w.backedUp()
		return got["alice/2024/01/b.jpg"] == photo && got["alice/2024/01/b.jpg.xmp"] == v2
	})

	// Another photo.jpg of January: its key holds the first one's backup.
	other := w.writeMedia("other/photo.jpg", mediatest.JPEG(t, 80, 60, exif), now)
	suffixed := "alice/2024/01/photo~" + other[:8] + ".jpg"
	w.eventually(20*time.Second, "the other photo is stored with a suffix", func() bool { return w.backedUp()[suffixed] == other })
	v3 := w.writeMedia("other/photo.jpg.xmp", []byte(xmp(3)), now)
	w.eventually(20*time.Second, "its sidecar takes the same suffix", func() bool {
		return w.backedUp()[strings.TrimSuffix(suffixed, ".jpg")+".jpg.xmp"] == v3
	})
	r.stop()
	if got := w.contentSHA256("alice/2024/01/photo.jpg"); got != photo {
		t.Errorf("alice/2024/01/photo.jpg holds %s, want the first photo %s", got, photo)
	}
}

// Another device of the account holds IMG_0003.JPG and IMG_0004.JPG of
// January: this device's photos of those names take a suffix, and their
// sidecars, written just before them (the photo on disk but not queued
// yet when the sidecar is looked at, or not written yet), wait for the
// photo's key and lie beside it with the same suffix, never beside the
// other device's photo.
func TestGroups_SidecarBeforeSuffixedPhoto(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("  key_template: \"{user}/{year}/{month}/{name}\"\n")
	exif := mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+01:00"}
	r := w.startAgent()
	for i, gap := range []time.Duration{100 * time.Millisecond, 700 * time.Millisecond} {
		name := fmt.Sprintf("IMG_000%d.JPG", 3+i)
		theirs := w.putObject("alice/2024/01/"+name, "phone", mediatest.JPEG(t, 48+8*i, 48, exif))
		now := time.Now()
		side := w.writeMedia(name+".xmp", []byte(xmp(4)), now)
		time.Sleep(gap)
		photo := w.writeMedia(name, mediatest.JPEG(t, 64+8*i, 48, exif), now)
		key := "alice/2024/01/" + strings.TrimSuffix(name, ".JPG") + "~" + photo[:8] + ".JPG"
		w.eventually(20*time.Second, name+" and its sidecar are stored", func() bool {
			got := w.backedUp()
			return got[key] == photo && got[key+".xmp"] == side
		})
		got := w.backedUp()
		if sum, ok := got["alice/2024/01/"+name+".xmp"]; ok {
			t.Errorf("%s written %s before its photo lies beside the other device's photo (holds %s)", name+".xmp", gap, sum)
		}
		if got["alice/2024/01/"+name] != theirs {
			t.Errorf("the other device's %s changed: %s, want %s", name, got["alice/2024/01/"+name], theirs)
		}
		if m := w.objectMeta(key + ".xmp"); m["Capture-Time"] != "2024-01-31T14:05:00+01:00" || m["Group"] != w.objectMeta(key)["Group"] {
			t.Errorf("%s: sidecar metadata %v, want the photo's capture time and group", name, m)
		}
	}
	r.stop()
}

// A Live Photo whose still takes a suffix (another device holds
// IMG_0001.JPG of January) keeps its video beside it under the same
// suffix: a restored folder never pairs the other device's still with
// this video. When that key is taken too, the video takes its own suffix
// after it.
func TestGroups_LivePhotoFollowsSuffixedStill(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.top = "settle: 200ms\n"
	w.writeConfig("  key_template: \"{user}/{year}/{month}/{name}\"\n")
	exif := mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00", Make: "Apple"}
	mov := func(id string) []byte {
		return mediatest.MOV(t, mediatest.MOVMeta{Created: time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC), CreationDate: "2024-01-31T14:05:00+0900", ContentID: id})
	}
	still1, still2 := mediatest.JPEG(t, 64, 48, exif), mediatest.JPEG(t, 72, 48, exif)
	h1, h2 := sha(still1), sha(still2)
	theirs := w.putObject("alice/2024/01/IMG_0001.JPG", "phone", mediatest.JPEG(t, 48, 48, exif))
	w.putObject("alice/2024/01/IMG_0002.JPG", "phone", mediatest.JPEG(t, 40, 48, exif))
	w.putObject("alice/2024/01/IMG_0002~"+h2[:8]+".MOV", "phone", mov("THEIRS"))
	r := w.startAgent()
	now := time.Now()
	w.writeMedia("IMG_0001.JPG", still1, now)
	v1 := w.writeMedia("IMG_0001.MOV", mov("A1"), now)
	w.writeMedia("IMG_0002.JPG", still2, now)
	v2 := w.writeMedia("IMG_0002.MOV", mov("B2"), now)
	k1, k2 := "alice/2024/01/IMG_0001~"+h1[:8], "alice/2024/01/IMG_0002~"+h2[:8]
	want := map[string]string{k1 + ".JPG": h1, k1 + ".MOV": v1, k2 + ".JPG": h2, k2 + "~" + v2[:8] + ".MOV": v2}
	w.eventually(30*time.Second, "both Live Photos are stored", func() bool {
		got := w.backedUp()
		for k, sum := range want {
			if got[k] != sum {
				return false
			}
		}
		return true
	})
	r.stop()
	got := w.backedUp()
	for _, k := range []string{"alice/2024/01/IMG_0001.MOV", "alice/2024/01/IMG_0002.MOV"} {
		if sum, ok := got[k]; ok {
			t.Errorf("a video lies beside another device's still: %s holds %s", k, sum)
		}
	}
	if got["alice/2024/01/IMG_0001.JPG"] != theirs {
		t.Errorf("the other device's still changed: %s, want %s", got["alice/2024/01/IMG_0001.JPG"], theirs)
	}
	if a, b := w.objectMeta(k1 + ".JPG")["Group"], w.objectMeta(k1 + ".MOV")["Group"]; a == "" || a != b {
		t.Errorf("still and video groups %q and %q, want one", a, b)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// In account mode the objects carry the capture time, its source and the
// group too: the grants made ahead for a window of files sign the same
// metadata the uploads send.
func TestGroups_AccountMode(t *testing.T) {
	t.Parallel()
	s := startStack(t, stackOptions{})
	id := s.signup("dora@example.com", "dora-pass-44")
	w := newWorldOn(t, s.srv, s.url)
	w.login(s, "dora@example.com", "dora-pass-44", "dora@example.com")
	now := time.Now()
	w.writeMedia("IMG_0001.HEIC", mediatest.HEIC(t, mediatest.EXIF{DateTimeOriginal: "2024:01:31 14:05:00", OffsetTimeOriginal: "+09:00"}), now)
	w.writeMedia("IMG_0001.MOV", mediatest.MOV(t, mediatest.MOVMeta{Created: time.Date(2024, 1, 31, 5, 5, 0, 0, time.UTC), CreationDate: "2024-01-31T14:05:00+0900"}), now)
	w.writeMedia("MVIMG_1.jpg", mediatest.WithXMP(t, mediatest.JPEG(t, 32, 32, mediatest.EXIF{DateTimeOriginal: "2023:07:04 09:00:00"}), mediatest.MotionXMP), now)
	w.backupOK()
	prefix := id + "/laptop/pictures/"
	group := media.GroupID("laptop", "pictures", "", "img_0001")
	for key, want := range map[string]map[string]string{
		prefix + "IMG_0001.HEIC": {"Capture-Time": "2024-01-31T14:05:00+09:00", "Capture-Source": "exif", "Group": group},
		prefix + "IMG_0001.MOV":  {"Capture-Source": "video", "Group": group},
		prefix + "MVIMG_1.jpg":   {"Capture-Source": "exif", "Motion-Photo": "true"},
	} {
		info, err := s.srv.Client.StatObject(context.Background(), s.srv.Bucket, key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("stat %s: %v", key, err)
		}
		for name, v := range want {
			if got := info.UserMetadata[name]; got != v {
				t.Errorf("%s: %s = %q, want %q", key, name, got, v)
			}
		}
	}
}

// xmp is a small XMP sidecar giving a rating.
func xmp(rating int) string {
	return `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="` + string(rune('0'+rating)) + `"/>
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>`
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}
