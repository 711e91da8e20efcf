// Package packaging holds what installs cloudkeep as a service: the systemd
// units (templates for kardianos/service, rendered once into
// cloudkeep.service for the packages), the System V init script, the launchd plist, the packaged
// default config and the nfpm package definition.
package packaging

import (
	_ "embed"
	"strings"
)

// SystemdSystem is the system unit template (kardianos/service syntax).
//
//go:embed systemd-system.tmpl
var SystemdSystem string

// SystemdUser is the per-user unit template: it starts at login
// (WantedBy=default.target).
//
//go:embed systemd-user.tmpl
var SystemdUser string

// LaunchdPlist is the macOS launchd template.
//
//go:embed launchd.plist.tmpl
var LaunchdPlist string

// SysvScript is the System V init script template (kardianos/service
// syntax). It runs the command as the cloudkeep user, without shell quoting:
// each word is a line of a quoted here-document, so paths with spaces,
// quotes or dollars stay whole. Its output goes to /var/log/cloudkeep.log;
// start says Started only when the agent still runs a second later, status
// exits 1 when the PID file outlived the agent. Its second line is the
// marker "# Written by cloudkeep service install".
//
//go:embed sysv.tmpl
var SysvScript string

// Description is the service's description.
const Description = "cloudkeep photo and video backup agent"

// InstallMarker is the line that marks a unit or script as written by
// `cloudkeep service install`.
const InstallMarker = "# Written by cloudkeep service install"

// Render fills a unit template the way kardianos/service does for the
// keys cloudkeep's templates use: the path and arguments of the command.
// It is what the packages ship, so it leaves out InstallMarker's line.
func Render(tmpl, path string, args []string) string {
	tmpl = strings.Replace(tmpl, InstallMarker+"\n", "", 1)
	cmd := path
	for _, a := range args {
		cmd += " " + a
	}
	out := strings.ReplaceAll(tmpl, "{{Path | cmdEscape}}{{range Arguments}} {{. | cmd}}{{end}}", cmd)
	return strings.ReplaceAll(out, "{{Description}}", Description)
}
