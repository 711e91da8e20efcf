package cli

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cloudkeep/cloudkeep/packaging"
)

// serviceMarker is the first comment line of every unit and script
// `cloudkeep service install` writes: what removes them checks for it.
const serviceMarker = packaging.InstallMarker

// packageUnits are where the cloudkeep package puts its own systemd unit.
var packageUnits = []string{"/lib/systemd/system/cloudkeep.service", "/usr/lib/systemd/system/cloudkeep.service"}

// packageUnit returns the package's unit under root ("/" in production),
// or "" when the package is not installed.
func packageUnit(root string) string {
	for _, p := range packageUnits {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			return p
		}
	}
	return ""
}

// serviceFile returns the file `service install` writes on platform, or ""
// where it is not a plain file cloudkeep can read back.
func serviceFile(platform string, user bool) string {
	switch platform {
	case systemSysV:
		return "/etc/init.d/cloudkeep"
	case systemSystemd:
		if !user {
			return "/etc/systemd/system/cloudkeep.service"
		}
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		return filepath.Join(home, ".config", "systemd", "user", "cloudkeep.service")
	}
	return ""
}

// installedCommand reads back the command (binary, then arguments) of the
// installed service on platform; nil when there is none to read.
func installedCommand(platform string, user bool) []string {
	file := serviceFile(platform, user)
	if file == "" {
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	if platform == systemSysV {
		return scriptCommand(string(data))
	}
	return unitCommand(string(data))
}

// scriptCommand returns the words of the System V script's command: one
// per line of its END_OF_COMMAND here-document.
func scriptCommand(script string) []string {
	var words []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(script))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.HasSuffix(strings.TrimSpace(line), "<<'END_OF_COMMAND'"):
			in = true
		case in && line == "END_OF_COMMAND":
			return words
		case in:
			words = append(words, line)
		}
	}
	return nil
}

// unitCommand returns the words of a unit's ExecStart= as kardianos/service
// writes it: the path with spaces as \x20, each argument in double quotes
// with \" for a quote.
func unitCommand(unit string) []string {
	for line := range strings.Lines(unit) {
		line = strings.TrimRight(line, "\r\n")
		if rest, ok := strings.CutPrefix(line, "ExecStart="); ok {
			return splitExecStart(rest)
		}
	}
	return nil
}

func splitExecStart(s string) []string {
	var words []string
	for s = strings.TrimLeft(s, " "); s != ""; s = strings.TrimLeft(s, " ") {
		var w strings.Builder
		if s[0] == '"' {
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && s[i+1] == '"' {
					i++
				}
				w.WriteByte(s[i])
			}
			s = s[min(i+1, len(s)):]
		} else {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			w.WriteString(strings.ReplaceAll(s[:end], `\x20`, " "))
			s = s[end:]
		}
		words = append(words, w.String())
	}
	return words
}

// commandConfig returns the --config argument of a service command.
func commandConfig(cmd []string) string {
	if i := slices.Index(cmd, "--config"); i >= 0 && i+1 < len(cmd) {
		return cmd[i+1]
	}
	return ""
}
