package agent

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// UploadRules hold uploads while a rule of rules: does not allow them.
type UploadRules struct{}

// RulesStatus is what the rules say now, in the status.
type RulesStatus struct{}

func (a *Agent) initRules()                    {}
func (a *Agent) rulesLoop(ctx context.Context) {}
func (a *Agent) fillRules(s *Status)           {}

func (a *Agent) rulesMetrics(reg *prometheus.Registry) {}
