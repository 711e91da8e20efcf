#!/usr/bin/env bash
# Installs the pinned versitygw server (the second S3 server the tests use:
# Apache-2.0, no STS) into .cache/bin/versitygw, built once from source and
# cached in ~/.cache/cloudkeep like MinIO.
set -euo pipefail
exec "$(dirname "$0")/go-tool.sh" versitygw github.com/versity/versitygw/cmd/versitygw@v1.8.0
