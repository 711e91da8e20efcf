package agent

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Verification is the agent's periodic light verify: its journal against
// the storage's listing, every VerifyInterval.
type Verification struct {
	VerifyInterval time.Duration // 0: never
}

// VerifyStatus is the last verify's result, in the status.
type VerifyStatus struct{}

func (a *Agent) initVerify()                    {}
func (a *Agent) verifyLoop(ctx context.Context) {}
func (a *Agent) fillVerify(s *Status)           {}

func (a *Agent) verifyMetrics(reg *prometheus.Registry) {}
