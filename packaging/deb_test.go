package packaging_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// debs holds the .deb files built by this test binary, one per version.
var debs struct {
	sync.Mutex
	dir  string            // removed by TestMain
	path map[string]string // version → .deb
}

func TestMain(m *testing.M) {
	code := m.Run()
	if debs.dir != "" {
		os.RemoveAll(debs.dir)
	}
	os.Exit(code)
}

// debFor returns the linux/amd64 .deb of version, built once per test
// binary the way `make package` builds it (packaging/nfpm.sh from
// packaging/nfpm.yaml), with version as the binary's version.
func debFor(t *testing.T, version string) string {
	t.Helper()
	root, err := miniotest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ".cache", "bin", "nfpm")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nfpm is missing: make nfpm installs it")
		}
		t.Skip("nfpm is missing: run make nfpm")
	}
	debs.Lock()
	defer debs.Unlock()
	if p, ok := debs.path[version]; ok {
		return p
	}
	if debs.dir == "" {
		if debs.dir, err = os.MkdirTemp("", "cloudkeep-debs-"); err != nil {
			t.Fatal(err)
		}
		debs.path = map[string]string{}
	}
	out := filepath.Join(debs.dir, version)
	bin := filepath.Join(out, "cloudkeep")
	ldflags := "-s -w -X github.com/cloudkeep/cloudkeep/cli.Version=" + version + " -X github.com/cloudkeep/cloudkeep/cli.Commit=" + strings.TrimSpace(run(t, root, nil, "git", "rev-parse", "--short", "HEAD"))
	run(t, root, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, ".")
	run(t, root, nil, filepath.Join(root, "packaging", "nfpm.sh"), bin, "linux_amd64", version, out, "deb")
	found, _ := filepath.Glob(filepath.Join(out, "*.deb"))
	if len(found) != 1 {
		t.Fatalf("nfpm.sh made %d .deb files in %s, want 1", len(found), out)
	}
	if fi, err := os.Stat(found[0]); err == nil {
		t.Logf("%s: %.1f MiB", filepath.Base(found[0]), float64(fi.Size())/(1<<20))
	}
	debs.path[version] = found[0]
	return found[0]
}

// buildDeb returns the .deb of the version most tests install, 0.1.0.
func buildDeb(t *testing.T) string {
	t.Helper()
	return debFor(t, "0.1.0")
}

// newRoot makes an empty system for dpkg --root: the package database and
// the account files its scripts edit.
func newRoot(t *testing.T) string {
	root := t.TempDir()
	for _, d := range []string{"etc", "var/lib/dpkg/updates", "var/lib/dpkg/info", "usr/sbin"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	for f, text := range map[string]string{
		"var/lib/dpkg/status": "", "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n", "etc/group": "root:x:0:\n",
		"etc/shadow": "root:*:19000:0:99999:7:::\n", "etc/gshadow": "root:*::\n",
	} {
		os.WriteFile(filepath.Join(root, f), []byte(text), 0o644)
	}
	return root
}

func TestDeb_InstallRemovePurge(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the package test needs dpkg and root")
		}
		t.Skip("needs dpkg and root")
	}
	deb := buildDeb(t)
	info := run(t, "", nil, "dpkg-deb", "--info", deb)
	ctl := run(t, "", nil, "dpkg-deb", "--ctrl-tarfile", deb)
	if !strings.Contains(info, "conffiles") || !strings.Contains(ctl, "conffiles") {
		t.Errorf("no conffiles in the package:\n%s", info)
	}
	conffiles := run(t, "", nil, "sh", "-c", "dpkg-deb --ctrl-tarfile "+deb+" | tar -xO ./conffiles")
	if strings.TrimSpace(conffiles) != "/etc/cloudkeep/account.yaml\n/etc/cloudkeep/config.yaml" {
		t.Errorf("conffiles: %q", conffiles)
	}

	root := newRoot(t)
	dpkg := func(args ...string) string {
		return run(t, "", nil, "dpkg", append([]string{"--root=" + root, "--force-script-chrootless"}, args...)...)
	}
	dpkg("-i", deb)
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	var uid, gid int
	for _, l := range strings.Split(string(passwd), "\n") {
		if strings.HasPrefix(l, "cloudkeep:") {
			fmt.Sscanf(strings.Join(strings.Split(l, ":")[2:4], " "), "%d %d", &uid, &gid)
			if !strings.HasSuffix(l, ":/var/lib/cloudkeep:/usr/sbin/nologin") {
				t.Errorf("system user: %q", l)
			}
		}
	}
	if uid == 0 {
		t.Fatalf("no cloudkeep system user:\n%s", passwd)
	}
	for path, want := range map[string]struct {
		mode     os.FileMode
		uid, gid int
	}{
		"usr/bin/cloudkeep":                    {0o755, 0, 0},
		"etc/cloudkeep/config.yaml":            {0o640, 0, gid},
		"var/lib/cloudkeep":                    {0o700 | os.ModeDir, uid, gid},
		"lib/systemd/system/cloudkeep.service": {0o644, 0, 0},
		"usr/share/doc/cloudkeep/README.md":    {0o644, 0, 0},
		"usr/share/doc/cloudkeep/copyright":    {0o644, 0, 0},
	} {
		fi, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode()&(os.ModePerm|os.ModeDir) != want.mode || int(st.Uid) != want.uid || int(st.Gid) != want.gid {
			t.Errorf("%s: mode %v owner %d:%d, want %v %d:%d", path, fi.Mode(), st.Uid, st.Gid, want.mode, want.uid, want.gid)
		}
	}
	// The license ships as the package's copyright file.
	repo, _ := miniotest.RepoRoot()
	if got, want := readFile(t, filepath.Join(root, "usr/share/doc/cloudkeep/copyright")), readFile(t, filepath.Join(repo, "LICENSE")); got != want {
		t.Errorf("/usr/share/doc/cloudkeep/copyright is not LICENSE (%d bytes, want %d)", len(got), len(want))
	}
	if !strings.Contains(readFile(t, filepath.Join(repo, "LICENSE")), "Apache License") {
		t.Error("LICENSE is not the Apache License")
	}

	// The shipped config is invalid until edited, and says what to fill in.
	bin := filepath.Join(root, "usr/bin/cloudkeep")
	conf := filepath.Join(root, "etc/cloudkeep/config.yaml")
	out, err := exec.Command(bin, "config", "check", "--config", conf).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "storage.endpoint: required") || !strings.Contains(string(out), "watch: required") {
		t.Errorf("unedited config: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "~/") {
		t.Errorf("unedited config: the errors suggest a folder under ~, which the cloudkeep system user has not:\n%s", out)
	}
	filled := strings.NewReplacer(`endpoint: ""`, `endpoint: minio.example.com`, `bucket: ""`, `bucket: photos`,
		`user: ""`, `user: alice`, `access_key: ""`, `access_key: AKEXAMPLE`, `watch: []`, "watch:\n  - path: /srv/photos",
		"secret_key_file: /etc/cloudkeep/secret_key", "secret_key_file: "+filepath.Join(root, "etc/cloudkeep/secret_key"),
		"state_dir: /var/lib/cloudkeep", "state_dir: "+filepath.Join(root, "var/lib/cloudkeep")).Replace(readFile(t, conf))
	os.WriteFile(conf, []byte(filled), 0o640)
	os.WriteFile(filepath.Join(root, "etc/cloudkeep/secret_key"), []byte("s3cr3t\n"), 0o600)
	if out, err := exec.Command(bin, "config", "check", "--config", conf).CombinedOutput(); err != nil {
		t.Errorf("filled-in config: %v\n%s", err, out)
	}

	// Remove keeps the backups' journal and the edited config; purge does not.
	os.WriteFile(filepath.Join(root, "var/lib/cloudkeep/journal.db"), []byte("journal"), 0o600)
	dpkg("-r", "cloudkeep")
	if _, err := os.Stat(filepath.Join(root, "usr/bin/cloudkeep")); !os.IsNotExist(err) {
		t.Error("the binary is still there after remove")
	}
	for _, keep := range []string{"var/lib/cloudkeep/journal.db", "etc/cloudkeep/config.yaml"} {
		if _, err := os.Stat(filepath.Join(root, keep)); err != nil {
			t.Errorf("%s after remove: %v", keep, err)
		}
	}
	dpkg("--purge", "cloudkeep")
	if _, err := os.Stat(filepath.Join(root, "var/lib/cloudkeep")); !os.IsNotExist(err) {
		t.Error("purge left /var/lib/cloudkeep")
	}
}

func readFile(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Release targets compile (make test builds them; goreleaser ships them).
func TestCrossBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	root, _ := miniotest.RepoRoot()
	for _, target := range []string{"linux/amd64", "linux/arm64", "linux/arm/7", "darwin/amd64", "darwin/arm64", "windows/amd64"} {
		parts := strings.Split(target, "/")
		env := []string{"CGO_ENABLED=0", "GOOS=" + parts[0], "GOARCH=" + parts[1]}
		if len(parts) == 3 {
			env = append(env, "GOARM="+parts[2])
		}
		out := filepath.Join(t.TempDir(), "cloudkeep")
		run(t, root, env, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
		fi, _ := os.Stat(out)
		t.Logf("%-14s %.1f MiB", target, float64(fi.Size())/(1<<20))
	}
}
