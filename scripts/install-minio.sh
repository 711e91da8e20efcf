#!/usr/bin/env bash
# Installs the pinned MinIO server used by the tests and the demo into
# .cache/bin/minio. MinIO publishes source only, so it is built from that
# pinned source; the first build takes several minutes, later runs (even
# from a fresh clone on the same machine) reuse it.
set -euo pipefail
exec "$(dirname "$0")/go-tool.sh" minio github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
