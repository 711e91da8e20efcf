//go:build !race

package testbin

const raceFlag = ""
