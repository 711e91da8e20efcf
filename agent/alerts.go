package agent

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// Alerting tells the person when something is wrong, once per cause, and
// when it is resolved.
type Alerting struct{}

// AlertStatus is an alert open, in the status.
type AlertStatus struct{}

func (a *Agent) initAlerts()                   {}
func (a *Agent) alertLoop(ctx context.Context) {}
func (a *Agent) fillAlerts(s *Status)          {}

func (a *Agent) alertsMetrics(reg *prometheus.Registry) {}
