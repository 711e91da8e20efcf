package cli

import (
	"io"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/config"
)

// configureAlerts sets up the agent's alerts from cfg.
func configureAlerts(a *agent.Agent, cfg *config.Agent, be *backend) error { return nil }

// printAlerts writes what the status says of alerts, if anything.
func printAlerts(w io.Writer, s agent.Status, now time.Time) {}
