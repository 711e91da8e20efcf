#!/usr/bin/env bash
# Installs the pinned MinIO client `mc` (a peer in make bench) into
# .cache/bin/mc, built once from source and cached in ~/.cache/cloudkeep
# like MinIO. mc has no release tags on the Go module proxy: the pin is a
# pseudo-version (`go list -m github.com/minio/mc@latest`).
set -euo pipefail
exec "$(dirname "$0")/go-tool.sh" mc github.com/minio/mc@v0.0.0-20250313080218-cf909e1063a9
