#!/usr/bin/env bash
# Installs the pinned rclone (a peer in make bench) into .cache/bin/rclone,
# built once from source and cached in ~/.cache/cloudkeep like MinIO.
set -euo pipefail
exec "$(dirname "$0")/go-tool.sh" rclone github.com/rclone/rclone@v1.76.0
