package packaging_test

import (
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/config"
	"github.com/cloudkeep/cloudkeep/packaging"
)

// The agent's units give a stop more time than the longest shutdown_grace
// the config accepts (a minute more: the agent closes its journal after
// the grace), and do not restart an agent that exited 2 (a bad config:
// it would fail the same way).
func TestUnits_StopTimeoutAndConfigErrors(t *testing.T) {
	packaged, err := os.ReadFile("cloudkeep.service")
	if err != nil {
		t.Fatal(err)
	}
	for name, unit := range map[string]string{
		"cloudkeep.service": string(packaged), "system template": packaging.SystemdSystem, "user template": packaging.SystemdUser,
	} {
		m := regexp.MustCompile(`(?m)^TimeoutStopSec=(\d+)$`).FindStringSubmatch(unit)
		if m == nil {
			t.Errorf("%s: no TimeoutStopSec=SECONDS", name)
			continue
		}
		secs, _ := strconv.Atoi(m[1])
		if stop := time.Duration(secs) * time.Second; stop < config.MaxShutdownGrace+time.Minute {
			t.Errorf("%s: TimeoutStopSec=%d, want at least %s (shutdown_grace's maximum %s, and a minute)",
				name, secs, config.MaxShutdownGrace+time.Minute, config.MaxShutdownGrace)
		}
		if !regexp.MustCompile(`(?m)^RestartPreventExitStatus=2$`).MatchString(unit) {
			t.Errorf("%s: no RestartPreventExitStatus=2", name)
		}
	}
}
