package account

import (
	"slices"
	"strconv"
	"sync"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// Region is a country or region people can pick, with its dial code.
type Region struct {
	Code     string // ISO 3166-1 alpha-2
	Name     string // in English
	DialCode string // "+49"
}

// Regions returns every region with a phone numbering plan, by name.
var Regions = sync.OnceValue(func() []Region {
	var out []Region
	namer := display.English.Regions()
	for code := range phonenumbers.GetSupportedRegions() {
		r, err := language.ParseRegion(code)
		if err != nil {
			continue
		}
		name := namer.Name(r)
		if name == "" {
			name = code
		}
		out = append(out, Region{Code: code, Name: name, DialCode: "+" + strconv.Itoa(phonenumbers.GetCountryCodeForRegion(code))})
	}
	slices.SortFunc(out, func(a, b Region) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
})

// DialCodes returns the distinct dial codes, smallest first.
var DialCodes = sync.OnceValue(func() []string {
	seen := map[int]bool{}
	for code := range phonenumbers.GetSupportedRegions() {
		seen[phonenumbers.GetCountryCodeForRegion(code)] = true
	}
	var nums []int
	for n := range seen {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = "+" + strconv.Itoa(n)
	}
	return out
})

func knownRegion(code string) bool { return phonenumbers.GetSupportedRegions()[code] }
