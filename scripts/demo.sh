#!/usr/bin/env bash
# make demo: a local MinIO, sample photos and a video, one backup, and a
# look at what landed in the bucket. Everything lives under .cache/demo/
# (tests set CLOUDKEEP_DEMO_DIR and CLOUDKEEP_BIN).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
demo="${CLOUDKEEP_DEMO_DIR:-$here/.cache/demo}"
cloudkeep="${CLOUDKEEP_BIN:-$here/cloudkeep}"
source "$here/scripts/minio-env.sh"

rm -rf "$demo"
mkdir -p "$demo"
echo "==> starting MinIO on 127.0.0.1"
start_minio "$demo/minio"
make_bucket photos
echo "    MinIO at http://$MINIO_ENDPOINT (key $MINIO_KEY), bucket 'photos'"

echo "==> generating sample photos and a 40 MiB video in $demo/Pictures"
(cd "$here" && go run ./scripts/samples "$demo/Pictures" 12 40)

cat >"$demo/config.yaml" <<YAML
device:
  name: demo-laptop
storage:
  endpoint: $MINIO_ENDPOINT
  secure: false
  bucket: photos
  user: demo
  credentials:
    mode: static
    access_key: $MINIO_KEY
    secret_key: $MINIO_SECRET
watch:
  - path: $demo/Pictures
    name: pictures
state_dir: $demo/state
YAML
echo "==> config written to $demo/config.yaml"

echo "==> cloudkeep backup"
"$cloudkeep" backup --config "$demo/config.yaml" --log-format console

echo "==> cloudkeep ls --long: what is backed up"
"$cloudkeep" ls --long --config "$demo/config.yaml" | sed 's/^/    /'

echo "==> cloudkeep restore: everything back into $demo/restored, checked byte for byte"
"$cloudkeep" restore --config "$demo/config.yaml" --log-level warn "$demo/restored"

echo "==> a second run finds nothing new:"
"$cloudkeep" backup --config "$demo/config.yaml" --log-format console

# MinIO stops when this script exits: suggest only what works without it.
cat <<TEXT

Done. MinIO is stopped now; its data stays in $demo/minio until 'make clean'.
These work without it:
  ./cloudkeep status --config $demo/config.yaml         (what the journal says is backed up)
  ./cloudkeep config check --config $demo/config.yaml   (the effective configuration)
Run 'make demo' again for a fresh MinIO and another backup.
TEXT
