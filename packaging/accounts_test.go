package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/config"
)

// accountsUnit is cloudkeep-accounts.service with ExecStart pointing at a
// binary that exists here, as systemd-analyze checks it.
func accountsUnit(t *testing.T) string {
	t.Helper()
	bin, _ := exec.LookPath("true")
	unit := strings.Replace(readFile(t, "cloudkeep-accounts.service"), "ExecStart=/usr/bin/cloudkeep ", "ExecStart="+bin+" ", 1)
	path := filepath.Join(t.TempDir(), "cloudkeep-accounts.service")
	os.WriteFile(path, []byte(unit), 0o644)
	return path
}

func TestAccountsUnit_Verify(t *testing.T) {
	sa := systemdAnalyze(t)
	if out, err := exec.Command(sa, "verify", accountsUnit(t)).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, line := range []string{
		"Type=notify", "User=cloudkeep-accounts", "StateDirectory=cloudkeep-accounts", "StateDirectoryMode=0700",
		"ProtectSystem=strict", "CapabilityBoundingSet=", "RestartPreventExitStatus=2",
		"ExecStart=/usr/bin/cloudkeep account-server --config /etc/cloudkeep/account.yaml",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `$`).MatchString(readFile(t, "cloudkeep-accounts.service")) {
			t.Errorf("cloudkeep-accounts.service lacks %q", line)
		}
	}
}

// The account service's unit is sandboxed like the agent's: an exposure
// score of at most 2.0.
func TestAccountsUnit_SecurityScore(t *testing.T) {
	sa := systemdAnalyze(t)
	out, _ := exec.Command(sa, "security", "--offline=true", "--no-pager", accountsUnit(t)).CombinedOutput()
	score, rating := exposure(t, out)
	t.Logf("systemd-analyze security cloudkeep-accounts: %.1f %s", score, rating)
	if score > 2.0 {
		t.Errorf("exposure %.1f %s, want at most 2.0:\n%s", score, rating, out)
	}
}

// exposure reads the overall exposure level from systemd-analyze security.
func exposure(t *testing.T, out []byte) (float64, string) {
	t.Helper()
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	return score, string(m[2])
}

// The packaged account.yaml offers the same keys as the example
// `cloudkeep account-server --write-config` writes, set or commented out.
func TestAccountYAML_KeysMatchExample(t *testing.T) {
	packaged, example := yamlKeys(readFile(t, "account.yaml")), yamlKeys(config.ExampleAccount)
	for _, k := range packaged {
		if !slices.Contains(example, k) {
			t.Errorf("packaging/account.yaml has %s, config.ExampleAccount does not", k)
		}
	}
	for _, k := range example {
		if !slices.Contains(packaged, k) {
			t.Errorf("config.ExampleAccount has %s, packaging/account.yaml does not", k)
		}
	}
	if len(packaged) < 20 {
		t.Errorf("only %d keys found in packaging/account.yaml: %v", len(packaged), packaged)
	}
}

// keyLine is a YAML key, set or commented out ("# public_url: …").
var keyLine = regexp.MustCompile(`^( *)(?:# ?)?( *)([a-z_]+):(?: |$)`)

// yamlKeys lists the dotted paths of the keys in a commented YAML file.
func yamlKeys(text string) []string {
	type level struct {
		indent int
		key    string
	}
	var path []level
	var keys []string
	for _, line := range strings.Split(text, "\n") {
		m := keyLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		indent := len(m[1]) + len(m[2])
		for len(path) > 0 && path[len(path)-1].indent >= indent {
			path = path[:len(path)-1]
		}
		path = append(path, level{indent, m[3]})
		var names []string
		for _, l := range path {
			names = append(names, l.key)
		}
		keys = append(keys, strings.Join(names, "."))
	}
	return keys
}

// Unedited, the packaged account.yaml is valid but refuses to start: the
// error names the file, the line and the key to fill in.
func TestAccountYAML_RefusesUntilDelivery(t *testing.T) {
	const file = "/etc/cloudkeep/account.yaml"
	text := readFile(t, "account.yaml")
	c, err := config.ParseAccount(file, []byte(text))
	if err != nil {
		t.Fatalf("packaged account.yaml: %v", err)
	}
	if c.StateDir != "/var/lib/cloudkeep-accounts" || c.Listen != "127.0.0.1:8080" {
		t.Errorf("state_dir %s, listen %s; want /var/lib/cloudkeep-accounts, 127.0.0.1:8080", c.StateDir, c.Listen)
	}
	line := slices.IndexFunc(strings.Split(text, "\n"), func(l string) bool { return strings.HasPrefix(l, "      host:") }) + 1
	want := file + ":" + strconv.Itoa(line) + ": delivery.email.smtp.host: no way to send codes: fill in delivery.email.smtp (host and from) or delivery.sms.webhook.url (or run with --dev to write codes to outbox.log)"
	if err := c.RequireDelivery(); err == nil || err.Error() != want {
		t.Errorf("unedited: got %v, want %s", err, want)
	}
	filled := strings.Replace(text, `host: ""              # e.g. smtp.example.com`, `host: smtp.example.com`, 1)
	filled = strings.Replace(filled, `from: ""`, `from: cloudkeep <no-reply@example.com>`, 1)
	c, err = config.ParseAccount(file, []byte(filled))
	if err != nil {
		t.Fatalf("with SMTP filled in: %v", err)
	}
	if err := c.RequireDelivery(); err != nil {
		t.Errorf("with SMTP filled in: %v", err)
	}
}
