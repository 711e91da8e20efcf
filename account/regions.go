package account

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// Region is a country or region people can pick, with its dial code.
type Region struct {
	Code     string // ISO 3166-1 alpha-2
	Name     string // in English
	DialCode string // "+49"
}

// regionNames are current ISO 3166 short names where the English names of
// golang.org/x/text are out of date or are not short names.
var regionNames = map[string]string{
	"SZ": "Eswatini",
	"MK": "North Macedonia",
	"TR": "Türkiye",
	"CZ": "Czechia",
	"CV": "Cabo Verde",
	"MM": "Myanmar",
	"HK": "Hong Kong",
	"MO": "Macao",
	"PS": "Palestine",
	"CD": "Congo (Democratic Republic)",
	"CG": "Congo",
	"BQ": "Bonaire, Sint Eustatius and Saba",
	"MF": "Saint Martin (French part)",
	"SH": "Saint Helena",
	"VC": "Saint Vincent and the Grenadines",
	"VA": "Holy See (Vatican City)",
}

// regionName is the English name of the region with ISO code code.
func regionName(code string, namer display.Namer) string {
	if name, ok := regionNames[code]; ok {
		return name
	}
	r, err := language.ParseRegion(code)
	if err != nil {
		return code
	}
	name := namer.Name(r)
	if name == "" {
		return code
	}
	name = strings.ReplaceAll(name, " & ", " and ")
	if rest, ok := strings.CutPrefix(name, "St. "); ok {
		name = "Saint " + rest
	}
	return name
}

// Regions returns every region with a phone numbering plan, in English
// alphabetical order.
var Regions = sync.OnceValue(func() []Region {
	var out []Region
	namer := display.English.Regions()
	for code := range phonenumbers.GetSupportedRegions() {
		out = append(out, Region{Code: code, Name: regionName(code, namer),
			DialCode: "+" + strconv.Itoa(phonenumbers.GetCountryCodeForRegion(code))})
	}
	order := collate.New(language.English)
	slices.SortFunc(out, func(a, b Region) int { return order.CompareString(a.Name, b.Name) })
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

// DialCode returns the dial code of the region with ISO code region, or
// "" for an unknown region.
func DialCode(region string) string {
	if !knownRegion(region) {
		return ""
	}
	return "+" + strconv.Itoa(phonenumbers.GetCountryCodeForRegion(region))
}

// regionFromLanguages returns the first known region that an
// Accept-Language header names or implies ("de-AT" is AT, "de" is DE), or
// "" when there is none.
func regionFromLanguages(acceptLanguage string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil {
		return ""
	}
	for _, t := range tags {
		if t == language.Und { // "*"
			continue
		}
		r, conf := t.Region()
		if conf != language.No && knownRegion(r.String()) {
			return r.String()
		}
	}
	return ""
}
