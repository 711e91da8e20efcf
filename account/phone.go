package account

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// accountByNationalPhone finds the account of a phone number typed in its
// national format, without the dial code ("0151 12345678"). The number is
// read as a national number of each region that has accounts with a
// phone; an account matches when its phone is one of those readings and
// its region is the region of that reading. So "015112345678" finds the
// account signed up in Germany as +4915112345678, and nothing in a region
// where it reads differently. ErrNotFound when no account, or more than
// one, matches.
func (s *Service) accountByNationalPhone(ctx context.Context, name string) (Account, error) {
	if !looksNational(name) {
		return Account{}, ErrNotFound
	}
	regions, err := s.store.PhoneRegions(ctx)
	if err != nil {
		return Account{}, err
	}
	readings := nationalReadings(name, regions)
	if len(readings) == 0 {
		return Account{}, ErrNotFound
	}
	accounts, err := s.store.AccountsByPhone(ctx, slices.Sorted(maps.Keys(readings)))
	if err != nil {
		return Account{}, err
	}
	var match []Account
	for _, a := range accounts {
		if slices.Contains(readings[a.Phone], a.Region) {
			match = append(match, a)
		}
	}
	if len(match) != 1 {
		return Account{}, ErrNotFound
	}
	return match[0], nil
}

// nationalReadings maps each E.164 number that name is, in the national
// format of one of regions, to those regions.
func nationalReadings(name string, regions []string) map[string][]string {
	out := map[string][]string{}
	for _, region := range regions {
		n, err := phonenumbers.Parse(name, region)
		if err != nil || !phonenumbers.IsValidNumberForRegion(n, region) {
			continue
		}
		e := phonenumbers.Format(n, phonenumbers.E164)
		out[e] = append(out[e], region)
	}
	return out
}

// looksNational reports whether name could be a national phone number:
// 5 to 17 digits with spaces, dashes, dots, slashes or parentheses.
func looksNational(name string) bool {
	if strings.HasPrefix(name, "+") || strings.HasPrefix(name, "00") {
		return false
	}
	digits := 0
	for _, r := range name {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" -./()", r):
		default:
			return false
		}
	}
	return digits >= 5 && digits <= 17
}
