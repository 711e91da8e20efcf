package restore

import (
	"cmp"
	"slices"
	"strings"

	"github.com/cloudkeep/cloudkeep/media"
)

// Asset is one line of a listing: a file alone, or the files of one group
// (the same Group metadata, two or more of them), the main one first.
type Asset struct {
	Items []Item
}

// Main is the file that stands for the asset.
func (a Asset) Main() Item { return a.Items[0] }

// Partners are the files that come with the main one.
func (a Asset) Partners() []Item { return a.Items[1:] }

// Size is the size of all its files.
func (a Asset) Size() int64 {
	var n int64
	for _, it := range a.Items {
		n += it.Size
	}
	return n
}

// Kind names what the asset is ("Live Photo", "RAW+JPEG", "sidecar",
// "motion photo", joined with ", "); empty for a plain file alone.
func (a Asset) Kind() string {
	has := map[role]bool{}
	motion := false
	for _, it := range a.Items {
		has[roleOf(it.Rel)] = true
		motion = motion || it.Motion
	}
	var kinds []string
	if (has[rolePhoto] || has[roleRAW]) && has[roleVideo] {
		kinds = append(kinds, "Live Photo")
	}
	if has[rolePhoto] && has[roleRAW] {
		kinds = append(kinds, "RAW+JPEG")
	}
	if has[roleSidecar] {
		kinds = append(kinds, "sidecar")
	}
	if motion {
		kinds = append(kinds, "motion photo")
	}
	if len(kinds) == 0 && len(a.Items) > 1 {
		kinds = append(kinds, "group")
	}
	return strings.Join(kinds, ", ")
}

// Assets gathers items (sorted by key) into assets, each where its main
// file is in the order of items.
func Assets(items []Item) []Asset {
	groups := map[string][]Item{}
	for _, it := range items {
		if it.Group != "" {
			groups[it.Group] = append(groups[it.Group], it)
		}
	}
	for _, members := range groups {
		slices.SortStableFunc(members, func(a, b Item) int {
			return cmp.Or(cmp.Compare(roleOf(a.Rel), roleOf(b.Rel)), strings.Compare(a.Key, b.Key))
		})
	}
	var out []Asset
	for _, it := range items {
		members := groups[it.Group]
		switch {
		case len(members) < 2:
			out = append(out, Asset{Items: []Item{it}})
		case members[0].Key == it.Key:
			out = append(out, Asset{Items: members})
		}
	}
	return out
}

// Partners returns the items of all that are not in selected and share a
// group with one that is, in the order of all.
func Partners(all, selected []Item) []Item {
	groups := map[string]bool{}
	chosen := map[string]bool{}
	for _, it := range selected {
		chosen[it.Key] = true
		if it.Group != "" {
			groups[it.Group] = true
		}
	}
	var out []Item
	for _, it := range all {
		if groups[it.Group] && !chosen[it.Key] {
			chosen[it.Key] = true
			out = append(out, it)
		}
	}
	return out
}

// role orders the files of a group: the photo stands for it, then its RAW,
// the video, the sidecars.
type role int

const (
	rolePhoto role = iota
	roleRAW
	roleVideo
	roleSidecar
	roleOther
)

func roleOf(name string) role {
	k, _ := media.KindOf(name)
	switch {
	case k == media.Photo && media.IsRAW(name):
		return roleRAW
	case k == media.Photo:
		return rolePhoto
	case k == media.Video:
		return roleVideo
	case k == media.Sidecar:
		return roleSidecar
	}
	return roleOther
}
