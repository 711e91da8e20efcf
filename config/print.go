package config

import (
	_ "embed"

	"go.yaml.in/yaml/v3"
)

// Example is the commented configuration `cloudkeep config init` writes.
//
//go:embed example.yaml
var Example []byte

const redacted = "<redacted>"

// Redacted returns the effective configuration as YAML with every secret
// replaced by "<redacted>".
func (c *Agent) Redacted() ([]byte, error) {
	cp := *c
	if cp.Storage.Credentials.SecretKey != "" {
		cp.Storage.Credentials.SecretKey = redacted
	}
	cp.Alerts = cp.Alerts.redacted()
	return yaml.Marshal(&cp)
}
