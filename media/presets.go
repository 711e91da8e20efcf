package media

import (
	"fmt"
	"strings"
)

// presets are the exclude presets, each a set of globs written in lower
// case and matched against the lower-cased path, since phones, desktops and
// apps differ in case ("Screenshots", "screenshots"). The names are those
// the apps and systems give their folders and files:
//
//   - screenshots: Android's Pictures/Screenshots and DCIM/Screenshots
//     (Screenshot_20240131-101112.png, MIUI Screenshot_2024-01-31-10-11-12-123_app.jpg),
//     Samsung's DCIM/Screen recordings (Screen_Recording_20240131-101112_App.mp4),
//     the Pixel's screen recorder (screen-20240131-101112.mp4), macOS
//     ("Screenshot 2024-01-31 at 10.11.12.png", before 2022 "Screen Shot …",
//     "Screen Recording …"), Windows (Pictures/Screenshots, "Screenshot (1).png",
//     "Screenshot 2024-01-31 101112.png"), GNOME ("Screenshot from …",
//     Videos/Screencasts) and KDE (Screenshot_20240131_101112.png).
//   - whatsapp: the WhatsApp folder and its "WhatsApp Images", "WhatsApp Video",
//     "WhatsApp Animated Gifs"… (also WhatsApp Business), Android 11's
//     Android/media/com.whatsapp and com.whatsapp.w4b, the names WhatsApp
//     gives received files (IMG-20240131-WA0001.jpg, VID-…-WA…, AUD-…, PTT-…,
//     STK-…) and those of WhatsApp Web and Desktop downloads
//     ("WhatsApp Image 2024-01-31 at 10.11.12.jpeg", "WhatsApp Video …").
//   - telegram: the Telegram folder and its "Telegram Images", "Telegram
//     Video"…, "Telegram Desktop" downloads, Android 11's
//     Android/media/org.telegram.messenger (and the web build, and
//     Telegram X's org.thunderdog.challegram), and Telegram Desktop's names
//     (photo_2024-01-31_10-11-12.jpg, video_…).
//   - downloads: Android's Download folder and desktops' Downloads.
//
// iOS gives screenshots and saved chat pictures ordinary IMG_ names: no
// glob can tell them apart.
var presets = []struct {
	name  string
	globs []string
}{
	{"screenshots", []string{
		"**/screenshots/**", "**/screen recordings/**", "**/screencasts/**",
		"screenshot_*", "screenshot *", "screen shot *", "screen_recording_*",
		"screen recording *", "screencast *", "screen-[0-9]*",
	}},
	{"whatsapp", []string{
		"**/whatsapp/**", "**/whatsapp */**", "**/com.whatsapp/**", "**/com.whatsapp.w4b/**",
		"img-*-wa*", "vid-*-wa*", "aud-*-wa*", "ptt-*-wa*", "stk-*-wa*",
		"whatsapp image *", "whatsapp video *",
	}},
	{"telegram", []string{
		"**/telegram/**", "**/telegram */**", "**/org.telegram.messenger/**",
		"**/org.telegram.messenger.web/**", "**/org.thunderdog.challegram/**",
		"photo_????-??-??_??-??-??*", "video_????-??-??_??-??-??*",
	}},
	{"downloads", []string{"**/download/**", "**/downloads/**"}},
}

// Presets returns the names of the exclude presets, in the order the
// documentation lists them.
func Presets() []string {
	names := make([]string, len(presets))
	for i, p := range presets {
		names[i] = p.name
	}
	return names
}

// PresetGlobs returns the globs of the named preset (lower case, matched
// against the lower-cased path), nil for an unknown name.
func PresetGlobs(name string) []string {
	for _, p := range presets {
		if p.name == name {
			return p.globs
		}
	}
	return nil
}

// presetRule is how Globs names a preset that matched, for ExcludedBy.
const presetRule = "preset "

// matchPreset returns the first of names whose globs match rel.
func matchPreset(names []string, rel string) (string, bool) {
	if len(names) == 0 {
		return "", false
	}
	lower := strings.ToLower(rel)
	for _, n := range names {
		if _, ok := matchAny(PresetGlobs(n), lower); ok {
			return n, true
		}
	}
	return "", false
}

// ExcludedBy says why a file is not backed up, given the rule Globs
// returned with Excluded: `excluded by rule "**/cache/**"`, or `excluded by
// preset whatsapp` when an exclude preset matched.
func ExcludedBy(rule string) string {
	if name, ok := strings.CutPrefix(rule, presetRule); ok && PresetGlobs(name) != nil {
		return "excluded by preset " + name
	}
	return fmt.Sprintf("excluded by rule %q", rule)
}
