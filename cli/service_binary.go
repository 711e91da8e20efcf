package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// serviceBinary returns the binary the service will run: flag when given
// (it must be an executable file), else this executable, which must lie in
// one of the system's usual places for installed programs, so that a
// service never runs a build checkout or a download folder.
func serviceBinary(flag string, user bool) (string, error) {
	if flag != "" {
		abs, err := filepath.Abs(flag)
		if err != nil {
			return "", err
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return "", fmt.Errorf("--binary: %w", err)
		}
		if !fi.Mode().IsRegular() || (runtime.GOOS != "windows" && fi.Mode()&0o111 == 0) {
			return "", fmt.Errorf("--binary %s is not an executable file", abs)
		}
		return abs, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	if installedPath(runtime.GOOS, self, systemBinDirs(runtime.GOOS, user)) {
		return self, nil
	}
	return "", fmt.Errorf("the service would run %s, which is not installed in a system path (%s): "+
		"copy it there first (for example `sudo install -m 0755 %s /usr/local/bin/cloudkeep`, then run /usr/local/bin/cloudkeep service install), "+
		"or name the binary the service should run with --binary PATH",
		self, strings.Join(systemBinDirs(runtime.GOOS, user), ", "), self)
}

// systemBinDirs lists where installed programs live on goos: a binary
// directly in one of these, or anywhere under one ending in a separator.
// Per-user services also accept the user's own bin directories.
func systemBinDirs(goos string, user bool) []string {
	var dirs []string
	switch goos {
	case "windows":
		for _, env := range []string{"ProgramFiles", "ProgramFiles(x86)", "ProgramW6432"} {
			if d := os.Getenv(env); d != "" {
				dirs = append(dirs, d+`\`)
			}
		}
	case "darwin":
		dirs = []string{"/usr/local/bin", "/opt/homebrew/bin", "/opt/", "/Applications/"}
	default:
		dirs = []string{"/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/opt/"}
	}
	if home, err := os.UserHomeDir(); user && err == nil && goos != "windows" {
		dirs = append(dirs, filepath.Join(home, ".local", "bin"), filepath.Join(home, "bin"))
	}
	return dirs
}

// installedPath reports whether bin lies in one of dirs, as systemBinDirs
// describes them.
func installedPath(goos, bin string, dirs []string) bool {
	sep := "/"
	if goos == "windows" {
		sep = `\`
		bin = strings.ToLower(bin)
	}
	dir := bin[:strings.LastIndex(bin, sep)+1]
	for _, d := range dirs {
		if goos == "windows" {
			d = strings.ToLower(d)
		}
		if strings.HasSuffix(d, sep) && strings.HasPrefix(bin, d) || d+sep == dir {
			return true
		}
	}
	return false
}
