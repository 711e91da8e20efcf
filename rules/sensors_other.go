//go:build !linux

package rules

// System returns the sensors of this system: none outside Linux. Whether
// the network is metered is then rules.metered_network; whether the
// machine is on battery is not known (macOS and Windows tell it only
// through APIs Go reaches with cgo), so on_battery never holds uploads
// there.
func System() Sensors { return Sensors{} }
