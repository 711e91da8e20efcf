//go:build race

package testbin

// The binary under test is built with the race detector when the tests are.
const raceFlag = "-race"
