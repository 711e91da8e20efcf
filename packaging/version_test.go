package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// scripts/version.sh gives the one version: the tag without "v" on a
// tagged commit, 0.0.0+<commit> between tags, ".dirty" for uncommitted
// changes; a pre-release tag's "-" becomes "~". Each is accepted by nfpm
// for both package formats unchanged, and dpkg orders them as releases go.
func TestVersionScript(t *testing.T) {
	root, err := miniotest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(root, "scripts", "version.sh"))
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	os.MkdirAll(filepath.Join(repo, "scripts"), 0o755)
	os.WriteFile(filepath.Join(repo, "scripts", "version.sh"), script, 0o755)
	git := func(args ...string) string {
		return run(t, repo, []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t"}, "git", args...)
	}
	version := func() string {
		return strings.TrimSpace(run(t, repo, nil, filepath.Join(repo, "scripts", "version.sh")))
	}

	if got := version(); got != "0.0.0+unknown" {
		t.Errorf("outside a git checkout: got %q, want 0.0.0+unknown", got)
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "one")
	short := strings.TrimSpace(git("rev-parse", "--short", "HEAD"))
	var versions []string
	check := func(state, want string) {
		t.Helper()
		if got := version(); got != want {
			t.Errorf("%s: got %q, want %q", state, got, want)
		}
		versions = append(versions, want)
	}
	check("between tags", "0.0.0+"+short)
	os.WriteFile(filepath.Join(repo, "scripts", "version.sh"), append(script, '\n'), 0o755)
	check("between tags, dirty", "0.0.0+"+short+".dirty")
	git("commit", "-q", "-am", "two")
	git("tag", "v1.2.0-rc.1")
	check("pre-release tag", "1.2.0~rc.1")
	git("commit", "-q", "--allow-empty", "-m", "three")
	git("tag", "v1.2.0")
	check("release tag", "1.2.0")
	os.WriteFile(filepath.Join(repo, "scripts", "version.sh"), script, 0o755)
	check("release tag, dirty", "1.2.0+dirty")

	for i := 1; i < len(versions); i++ {
		if i == 1 {
			continue // the two 0.0.0+ builds of one commit are not ordered
		}
		run(t, repo, nil, "dpkg", "--compare-versions", versions[i-1], "lt", versions[i])
	}
	packageVersions(t, root, versions)
}

// packageVersions builds a .deb and an .rpm of each version through
// packaging/nfpm.sh: each package carries the version unchanged.
func packageVersions(t *testing.T, root string, versions []string) {
	if _, err := os.Stat(filepath.Join(root, ".cache", "bin", "nfpm")); err != nil {
		t.Skip("nfpm is missing: run make nfpm")
	}
	bin := filepath.Join(t.TempDir(), "cloudkeep")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	for _, v := range versions {
		out := filepath.Join(t.TempDir(), "dist")
		run(t, root, nil, filepath.Join(root, "packaging", "nfpm.sh"), bin, "linux_amd64", v, out)
		if got := strings.TrimSpace(run(t, root, nil, "dpkg-deb", "-f", filepath.Join(out, "cloudkeep_"+v+"_amd64.deb"), "Version")); got != v {
			t.Errorf(".deb of %s: Version %q", v, got)
		}
		if _, err := os.Stat(filepath.Join(out, "cloudkeep-"+v+"-1.x86_64.rpm")); err != nil {
			ls, _ := filepath.Glob(filepath.Join(out, "*"))
			t.Errorf(".rpm of %s: want cloudkeep-%s-1.x86_64.rpm, got %v", v, v, ls)
		}
	}
}

// The Makefile's build gives the binary scripts/version.sh's version, the
// commit and the build date; a plain `go build` in the checkout still
// names its commit, from the VCS stamp.
func TestVersion_Binary(t *testing.T) {
	root, err := miniotest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	want := strings.TrimSpace(run(t, root, nil, filepath.Join(root, "scripts", "version.sh")))
	short := strings.TrimSpace(run(t, root, nil, "git", "rev-parse", "--short", "HEAD"))
	full := strings.TrimSpace(run(t, root, nil, "git", "rev-parse", "HEAD"))
	dir := t.TempDir()

	// make's own command line, with the binary written here.
	build := strings.TrimSpace(run(t, root, nil, "make", "-s", "-n", "build"))
	if !strings.HasSuffix(build, " -o cloudkeep .") {
		t.Fatalf("make -n build: %s", build)
	}
	build = strings.TrimSuffix(build, " -o cloudkeep .") + " -o " + filepath.Join(dir, "made") + " ."
	run(t, root, nil, "bash", "-c", build)
	out := run(t, dir, nil, filepath.Join(dir, "made"), "version")
	lines := strings.Split(out, "\n")
	if len(lines) < 4 || lines[0] != "cloudkeep "+want || lines[1] != "commit:  "+short || !strings.HasPrefix(lines[2], "built:   20") || !strings.HasPrefix(lines[3], "go:      go1.") {
		t.Errorf("make build; cloudkeep version:\n%s\nwant cloudkeep %s, commit %s, a build date and the Go version", out, want, short)
	}

	// -buildvcs=true: Go's default, which a GOFLAGS setting may have turned off.
	run(t, root, nil, "go", "build", "-buildvcs=true", "-o", filepath.Join(dir, "plain"), ".")
	out = run(t, dir, nil, filepath.Join(dir, "plain"), "version")
	if lines := strings.Split(out, "\n"); len(lines) < 3 || lines[0] != "cloudkeep dev" || !strings.HasPrefix(lines[1], "commit:  "+full) || lines[2] == "built:   unknown" {
		t.Errorf("go build; cloudkeep version:\n%s\nwant commit %s and its time", out, full)
	}
}
