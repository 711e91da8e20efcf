package agent

import "context"

// Manifesting keeps the device's manifest in the bucket: which keys are
// live on the device, and since when.
type Manifesting struct{}

func (a *Agent) initManifest()                    {}
func (a *Agent) manifestLoop(ctx context.Context) {}
