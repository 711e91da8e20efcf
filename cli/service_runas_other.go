//go:build !unix

package cli

// checkRunAs is needed only where the system service runs as its own user.
func checkRunAs(binary, configPath, stateDir string, systemd bool) error { return nil }
