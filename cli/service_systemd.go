package cli

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// unitState is what systemd says of the cloudkeep unit.
type unitState struct {
	Active, Sub, Result string // ActiveState, SubState, Result
	Code, Status        string // ExecMainCode (1 exited, 2 killed, 3 dumped), ExecMainStatus
	Restarts            string // NRestarts
}

// systemdUnit asks systemd for the cloudkeep unit's state.
func systemdUnit(user bool) (unitState, bool) {
	args := []string{"show", "-p", "ActiveState,SubState,Result,ExecMainCode,ExecMainStatus,NRestarts", "cloudkeep.service"}
	if user {
		args = append([]string{"--user"}, args...)
	}
	out, err := exec.Command("systemctl", args...).Output()
	if err != nil {
		return unitState{}, false
	}
	var u unitState
	fields := map[string]*string{"ActiveState": &u.Active, "SubState": &u.Sub, "Result": &u.Result,
		"ExecMainCode": &u.Code, "ExecMainStatus": &u.Status, "NRestarts": &u.Restarts}
	for line := range strings.Lines(string(out)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		if p := fields[k]; p != nil {
			*p = v
		}
	}
	return u, true
}

// stopped reports whether no agent process runs: the unit is inactive,
// failed, or waiting to restart.
func (u unitState) stopped() bool {
	return u.Active == "inactive" || u.Active == "failed" || u.Sub == "auto-restart"
}

// failure describes how the unit's last run failed, "" if it did not.
func (u unitState) failure() string {
	switch u.Result {
	case "", "success":
		return ""
	case "exit-code":
		n, _ := strconv.Atoi(u.Status)
		if name, ok := systemdExitNames[n]; ok {
			return fmt.Sprintf("systemd could not start the agent: status=%d/%s%s", n, name, systemdExitHints[n])
		}
		return fmt.Sprintf("the agent exited with status %s", u.Status)
	case "signal", "core-dump":
		n, _ := strconv.Atoi(u.Status)
		return fmt.Sprintf("the agent was killed by signal %s", signalName(n))
	case "timeout":
		return "the agent did not start or stop in time (systemd's timeout)"
	case "start-limit-hit":
		return "systemd gave up restarting the agent (it failed too often): see `journalctl -u cloudkeep`"
	}
	return "systemd says: " + u.Result
}

// systemdExitNames are the exit statuses systemd gives a process it could
// not set up (systemd.exec(5), "Process Exit Codes").
var systemdExitNames = map[int]string{
	200: "CHDIR", 201: "NICE", 202: "FDS", 203: "EXEC", 204: "MEMORY", 206: "OOM_ADJUST",
	207: "SIGNAL_MASK", 208: "STDIN", 209: "STDOUT", 210: "CHROOT", 211: "IOPRIO", 212: "TIMERSLACK",
	213: "SECUREBITS", 214: "SETSCHEDULER", 215: "CPUAFFINITY", 216: "GROUP", 217: "USER",
	218: "CAPABILITIES", 219: "CGROUP", 220: "SETSID", 221: "CONFIRM", 222: "STDERR", 224: "PAM",
	225: "NETWORK", 226: "NAMESPACE", 227: "NO_NEW_PRIVILEGES", 228: "SECCOMP", 229: "SELINUX_CONTEXT",
	230: "PERSONALITY", 231: "APPARMOR_PROFILE", 232: "ADDRESS_FAMILIES", 233: "RUNTIME_DIRECTORY",
	235: "CHOWN", 236: "SMACK_PROCESS_LABEL", 237: "KEYRING", 238: "STATE_DIRECTORY",
	239: "CACHE_DIRECTORY", 240: "LOGS_DIRECTORY", 241: "CONFIGURATION_DIRECTORY",
	242: "NUMA_POLICY", 243: "CREDENTIALS",
}

// systemdExitHints say what the commonest of those statuses mean here.
var systemdExitHints = map[int]string{
	203: " (the binary is missing, or its user cannot run it)",
	216: " (the group the unit runs as does not exist)",
	217: " (the user the unit runs as does not exist: `" + makeUserCommand + "` creates it)",
	238: " (systemd cannot make the state directory)",
}

func signalName(n int) string {
	names := map[int]string{1: "HUP", 2: "INT", 6: "ABRT", 9: "KILL", 11: "SEGV", 15: "TERM"}
	if name, ok := names[n]; ok {
		return name
	}
	return strconv.Itoa(n)
}
