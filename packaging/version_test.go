package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// scripts/version.sh gives the one version: the tag without "v" on a
// tagged commit; before any tag 0.0.0+<commits>.g<commit>, after one
// <tag>+<commits since>.g<commit>; ".dirty" for uncommitted changes; a
// pre-release tag's "-" becomes "~". Each is accepted by nfpm for both
// package formats unchanged, and dpkg and rpm order them as the commits
// go, also from 9 commits to 10 and whatever the hashes.
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
	short := func() string { return strings.TrimSpace(git("rev-parse", "--short", "HEAD")) }

	if got := version(); got != "0.0.0+unknown" {
		t.Errorf("outside a git checkout: got %q, want 0.0.0+unknown", got)
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "one")
	var versions []string // in commit order
	check := func(state, want string) {
		t.Helper()
		if got := version(); got != want {
			t.Errorf("%s: got %q, want %q", state, got, want)
		}
		versions = append(versions, want)
	}
	check("first commit", "0.0.0+1.g"+short())
	os.WriteFile(filepath.Join(repo, "scripts", "version.sh"), append(script, '\n'), 0o755)
	check("first commit, dirty", "0.0.0+1.g"+short()+".dirty")
	git("commit", "-q", "-am", "two")
	for n := 2; n <= 11; n++ {
		if n > 2 {
			git("commit", "-q", "--allow-empty", "-m", strconv.Itoa(n))
		}
		check("untagged commit "+strconv.Itoa(n), "0.0.0+"+strconv.Itoa(n)+".g"+short())
	}
	git("tag", "v1.2.0-rc.1")
	check("pre-release tag", "1.2.0~rc.1")
	git("commit", "-q", "--allow-empty", "-m", "after rc")
	check("after a pre-release tag", "1.2.0~rc.1+1.g"+short())
	git("commit", "-q", "--allow-empty", "-m", "release")
	git("tag", "v1.2.0")
	check("release tag", "1.2.0")
	os.WriteFile(filepath.Join(repo, "scripts", "version.sh"), script, 0o755)
	check("release tag, dirty", "1.2.0+dirty")
	git("commit", "-q", "-am", "after release")
	check("after a release tag", "1.2.0+1.g"+short())

	for i := 1; i < len(versions); i++ {
		a, b := versions[i-1], versions[i]
		if strings.HasSuffix(a, "dirty") || strings.HasSuffix(b, "dirty") {
			continue // a dirty tree's build is not ordered against its commit's neighbours
		}
		if out, err := exec.Command("dpkg", "--compare-versions", a, "lt", b).CombinedOutput(); err != nil {
			t.Errorf("dpkg --compare-versions %s lt %s: false %s", a, b, out)
		}
		if rpmVerCmp(a, b) >= 0 {
			t.Errorf("rpm orders %s at or after %s", a, b)
		}
	}
	packageVersions(t, root, []string{versions[0], versions[1], versions[len(versions)-3], versions[len(versions)-1]})
}

// rpmVerCmp compares two RPM versions as rpm's rpmvercmp (lib/rpmvercmp.c)
// does: -1, 0 or 1.
func rpmVerCmp(a, b string) int {
	isAlnum := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	if a == b {
		return 0
	}
	for len(a) > 0 || len(b) > 0 {
		for len(a) > 0 && !isAlnum(a[0]) && a[0] != '~' && a[0] != '^' {
			a = a[1:]
		}
		for len(b) > 0 && !isAlnum(b[0]) && b[0] != '~' && b[0] != '^' {
			b = b[1:]
		}
		switch {
		case strings.HasPrefix(a, "~") || strings.HasPrefix(b, "~"):
			if !strings.HasPrefix(a, "~") {
				return 1
			}
			if !strings.HasPrefix(b, "~") {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		case strings.HasPrefix(a, "^") || strings.HasPrefix(b, "^"):
			if a == "" {
				return -1
			}
			if b == "" {
				return 1
			}
			if !strings.HasPrefix(a, "^") {
				return 1
			}
			if !strings.HasPrefix(b, "^") {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if a == "" || b == "" {
			break
		}
		digits := isDigit(a[0])
		take := func(s string) (string, string) {
			i := 0
			for i < len(s) && (digits && isDigit(s[i]) || !digits && isAlnum(s[i]) && !isDigit(s[i])) {
				i++
			}
			return s[:i], s[i:]
		}
		var x, y string
		x, a = take(a)
		y, b = take(b)
		if y == "" {
			if digits {
				return 1 // numeric segments are newer than alphabetic ones
			}
			return -1
		}
		if digits {
			x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
			if len(x) != len(y) {
				return cmpInt(len(x), len(y))
			}
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

func cmpInt(x, y int) int {
	if x < y {
		return -1
	}
	return 1
}

// The RPM comparison above agrees with rpm on known pairs.
func TestRPMVerCmp(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0}, {"1.0", "2.0", -1}, {"2.0.1", "2.0", 1}, {"5.5p1", "5.5p2", -1}, {"5.5p10", "5.5p1", 1},
		{"10xyz", "10.1xyz", -1}, {"xyz10", "xyz10.1", -1}, {"1.0~rc1", "1.0", -1}, {"1.0~rc1", "1.0~rc2", -1},
		{"1.0^", "1.0", 1}, {"1.0^git1", "1.0.1", -1}, {"a", "1", -1}, {"0.0.0+9.gfff", "0.0.0+10.g000", -1},
		{"1.2.0", "1.2.0+1.gabc", -1}, {"1.2.0+1.gabc", "1.2.1", -1}, {"1.2.0~rc.1+1.gabc", "1.2.0", -1},
	} {
		if got := rpmVerCmp(tc.a, tc.b); got != tc.want {
			t.Errorf("rpmVerCmp(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := rpmVerCmp(tc.b, tc.a); got != -tc.want {
			t.Errorf("rpmVerCmp(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
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
