package auth

import (
	"os/exec"
	"strings"
	"testing"
)

// The device side speaks to the account service through account/wire
// only: linking the server would drag its database, mailer and password
// hashing into every device command.
func TestDeviceSide_DoesNotLinkAccountServer(t *testing.T) {
	const module = "github.com/cloudkeep/cloudkeep/"
	pkgs := []string{"auth", "agent", "uploader", "restore", "storage", "journal"}
	for _, pkg := range pkgs {
		t.Run(pkg, func(t *testing.T) {
			for _, dep := range goListDeps(t, module+pkg) {
				if dep == module+"account" || strings.HasPrefix(dep, module+"account/") && dep != module+"account/wire" {
					t.Errorf("%s links %s; the device side may import only %saccount/wire", pkg, dep, module)
				}
			}
		})
	}
}

// account/wire is shared with devices, so it stays standard library only.
func TestWire_ImportsOnlyTheStandardLibrary(t *testing.T) {
	const wire = "github.com/cloudkeep/cloudkeep/account/wire"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", wire).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != wire {
		t.Errorf("account/wire depends on %v, want the standard library only", got)
	}
}

// goListDeps returns the import paths pkg depends on, itself included.
func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}
