package config

import "testing"

// SetHomeLookupForTest replaces the passwd lookup of the home directory for
// the duration of t.
func SetHomeLookupForTest(t *testing.T, f func() (string, error)) {
	old := lookupHome
	lookupHome = f
	t.Cleanup(func() { lookupHome = old })
}
