# cloudkeep — make demo, make test, make build.
SHELL := /bin/bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/cloudkeep/cloudkeep/cli.Version=$(VERSION)
BIN := $(CURDIR)/.cache/bin
export PATH := $(BIN):$(PATH)

PKG_VERSION ?= $(patsubst v%,%,$(shell git describe --tags --abbrev=0 2>/dev/null || echo v0.1.0))

.PHONY: build test lint minio versitygw chromium tools package demo bench screenshots fuzz clean

build:
	go build -ldflags "$(LDFLAGS)" -o cloudkeep .

minio:
	@scripts/install-minio.sh

versitygw:
	@scripts/install-versitygw.sh

chromium:
	@scripts/install-chromium.sh

tools: minio versitygw chromium
	@scripts/go-tool.sh staticcheck honnef.co/go/tools/cmd/staticcheck@v0.8.2
	@scripts/go-tool.sh nfpm github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

# .deb and .rpm for linux/amd64 in dist/ (release builds for every
# platform: .goreleaser.yaml).
package: tools
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $(LDFLAGS)" -o cloudkeep .
	mkdir -p dist
	VERSION=$(PKG_VERSION) GOARCH=amd64 nfpm package -f packaging/nfpm.yaml -p deb -t dist/
	VERSION=$(PKG_VERSION) GOARCH=amd64 nfpm package -f packaging/nfpm.yaml -p rpm -t dist/
	@ls -l dist/

lint: tools
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	go vet ./...
	staticcheck ./...

# The whole suite: real MinIO, real SQLite, the real binary.
test: lint
	go test -race -count=1 -timeout 20m ./...

demo: build minio
	@scripts/demo.sh

bench: build minio
	@scripts/bench.sh

# Refresh the page screenshots in docs/screenshots (shown in the README).
screenshots: chromium
	CLOUDKEEP_SCREENSHOTS=docs/screenshots go test -count=1 -run Browser ./account

# Fuzz the account API's JSON handlers; new finds join the kept corpus.
fuzz:
	go test -run '^$$' -fuzz FuzzAPI -fuzztime 5m ./account

clean:
	rm -rf cloudkeep dist .cache/demo .cache/dev-stack
