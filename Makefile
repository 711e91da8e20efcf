# cloudkeep — make demo, make check, make test, make build.
SHELL := /bin/bash
VERSION ?= $(shell scripts/version.sh)
LDFLAGS := -X github.com/cloudkeep/cloudkeep/cli.Version=$(VERSION) -X github.com/cloudkeep/cloudkeep/cli.Commit=$(shell git rev-parse --short HEAD 2>/dev/null) -X github.com/cloudkeep/cloudkeep/cli.BuildDate=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)
BIN := $(CURDIR)/.cache/bin
export PATH := $(BIN):$(PATH)

PKG_VERSION ?= $(VERSION)

.PHONY: build check test soak lint minio versitygw chromium staticcheck nfpm nspawn postgres tools package demo bench screenshots fuzz clean

build:
	go build -ldflags "$(LDFLAGS)" -o cloudkeep .

minio:
	@scripts/install-minio.sh

versitygw:
	@scripts/install-versitygw.sh

chromium:
	@scripts/install-chromium.sh

staticcheck:
	@scripts/go-tool.sh staticcheck honnef.co/go/tools/cmd/staticcheck@v0.8.2

# PostgreSQL's server binaries (the tests start their own clusters).
postgres:
	@scripts/install-postgres.sh

# systemd-nspawn, debootstrap and a cached Debian root: the packages under a
# real systemd (packaging's container tests).
nspawn:
	@scripts/install-nspawn.sh

nfpm:
	@scripts/go-tool.sh nfpm github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

tools: minio versitygw chromium staticcheck nfpm nspawn postgres

# .deb and .rpm for linux/amd64 in dist/ (release builds for every
# platform: .goreleaser.yaml).
# Both build from packaging/nfpm.yaml through packaging/nfpm.sh.
package: nfpm
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "-s -w $(LDFLAGS)" -o cloudkeep .
	packaging/nfpm.sh cloudkeep linux_amd64 $(PKG_VERSION) dist
	@ls -l dist/

lint: staticcheck
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	go vet ./...
	staticcheck ./...
	# The service wrapper also builds, tests included, for Windows and macOS.
	GOOS=windows go test -c -o /dev/null ./cli
	GOOS=darwin go vet ./cli

# The packages whose tests start no server (MinIO, versitygw, the built
# binary) and drive no browser: those that import none of the helpers below.
SERVER_TEST_IMPORTS := internal/miniotest|internal/versitygwtest|internal/testbin|internal/nspawntest|internal/pgtest|internal/chromiumtest|chromedp/chromedp
CHECK_PKGS = $(shell go list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... \
	| grep -Ev ' [^ ]*($(SERVER_TEST_IMPORTS))( |$$)' | cut -d' ' -f1)

# The fast checks, without MinIO or Chromium: gofmt, vet, staticcheck and
# the unit tests of CHECK_PKGS (the time is in CONTRIBUTING.md).
check: lint
	go test -count=1 $(CHECK_PKGS)

# The whole suite: real MinIO, real SQLite, the real binary; then the
# end-to-end tests again against versitygw, the second S3 server. Only the
# e2e and nspawntest tests call t.Parallel (they mostly wait): 8 run side by side.
test: tools lint
	go test -race -count=1 -parallel 8 -timeout 30m ./...
	# The e2e tests of the storage's side again on versitygw (the others skip
	# there: sameOnEveryServer); the race detector already ran above.
	CLOUDKEEP_E2E_S3=versitygw go test -count=1 -parallel 8 -timeout 30m ./e2e

# The kill -9 soak (e2e TestSoak_KillNine) with SOAK_CYCLES cycles, without
# the race detector so that its timings are a user's; it prints its figures.
# The suite runs the same test with 15 cycles.
SOAK_CYCLES ?= 100
soak: minio
	CLOUDKEEP_SOAK_CYCLES=$(SOAK_CYCLES) go test -count=1 -timeout 2h -run '^TestSoak_' -v ./e2e

demo: build minio
	@scripts/demo.sh

# cloudkeep against mc, rclone and plain minio-go in one table, then the
# latencies, the storage gate and start-up (scripts/bench.sh installs the
# pinned mc and rclone first).
bench: build minio postgres
	@scripts/bench.sh

# Refresh the page screenshots in docs/screenshots (shown in the README).
screenshots: chromium
	CLOUDKEEP_SCREENSHOTS=docs/screenshots go test -count=1 -run Browser ./account

# Fuzz the account API's JSON handlers; new finds join the kept corpus.
fuzz:
	go test -run '^$$' -fuzz FuzzAPI -fuzztime 5m ./account

clean:
	rm -rf cloudkeep dist .cache/demo .cache/dev-stack
