package account

import (
	"context"
	"fmt"
)

// ConnectingDevices returns the names of the account's devices that were
// approved and are still to collect their tokens (they do at their next
// poll, within seconds).
func (s *Service) ConnectingDevices(ctx context.Context, accountID string) ([]string, error) {
	auths, err := s.store.ApprovedDeviceAuths(ctx, accountID, s.now())
	if err != nil {
		return nil, fmt.Errorf("list connecting devices: %w", err)
	}
	names := make([]string, len(auths))
	for i, d := range auths {
		names[i] = d.DeviceName
	}
	return names, nil
}
