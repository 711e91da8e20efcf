#!/usr/bin/env bash
# dev-stack.sh up|down: the account service (dev mode: codes go to its
# outbox) and a MinIO that takes it as OpenID provider, with the per-user
# policy, on 127.0.0.1. Writes a device config in account mode.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="$here/.cache/dev-stack"
source "$here/scripts/minio-env.sh"
trap - EXIT # this script leaves its servers running

down() {
	for p in "$dir"/*.pid; do
		[ -f "$p" ] || continue
		kill "$(cat "$p")" 2>/dev/null || true
		rm -f "$p"
	done
}

case "${1:-}" in
up)
	down
	mkdir -p "$dir"
	[ -x "$here/cloudkeep" ] || (cd "$here" && make -s build)
	"$here/scripts/install-minio.sh"
	accounts_port=$(free_port 8080)
	cat >"$dir/account.yaml" <<YAML
listen: 127.0.0.1:$accounts_port
state_dir: $dir/accounts
YAML
	"$here/cloudkeep" account-server --config "$dir/account.yaml" --dev >"$dir/account-server.log" 2>&1 &
	echo $! >"$dir/account-server.pid"
	url="http://127.0.0.1:$accounts_port"
	for _ in $(seq 100); do curl -fs "$url/healthz" >/dev/null && break; sleep 0.1; done

	port=$(free_port 9900)
	MINIO_ENDPOINT="127.0.0.1:$port"
	mkdir -p "$dir/minio"
	MINIO_ROOT_USER=$MINIO_KEY MINIO_ROOT_PASSWORD=$MINIO_SECRET MINIO_BROWSER=off MINIO_UPDATE=off \
		MINIO_IDENTITY_OPENID_CONFIG_URL="$url/.well-known/openid-configuration" \
		MINIO_IDENTITY_OPENID_CLIENT_ID=cloudkeep-agent \
		MINIO_IDENTITY_OPENID_CLAIM_NAME=policy \
		"$here/.cache/bin/minio" server --quiet --address "$MINIO_ENDPOINT" \
		--console-address "127.0.0.1:$(free_port $((port + 1)))" "$dir/minio" >"$dir/minio.log" 2>&1 &
	echo $! >"$dir/minio.pid"
	for _ in $(seq 300); do curl -fs "http://$MINIO_ENDPOINT/minio/health/live" >/dev/null && break; sleep 0.1; done
	make_bucket photos || true
	MINIO_ROOT_USER=$MINIO_KEY MINIO_ROOT_PASSWORD=$MINIO_SECRET \
		"$here/cloudkeep" minio-policy --endpoint "http://$MINIO_ENDPOINT" --bucket photos >/dev/null

	mkdir -p "$dir/Pictures"
	cat >"$dir/device.yaml" <<YAML
device:
  name: demo-laptop
account:
  url: $url
storage:
  endpoint: $MINIO_ENDPOINT
  bucket: photos
  credentials:
    mode: account
watch:
  - path: $dir/Pictures
    name: pictures
state_dir: $dir/device
settle: 1s
YAML
	cat <<TEXT
Account service: $url   (codes: $dir/accounts/outbox.log)
MinIO:           http://$MINIO_ENDPOINT (bucket photos, per-user policy cloudkeep-user)

1. open $url/signup and create an account (the PIN is in the outbox)
2. ./cloudkeep login --config $dir/device.yaml      (open the address it shows, approve)
3. ./cloudkeep run --config $dir/device.yaml        (then drop photos into $dir/Pictures)
4. ./cloudkeep status --config $dir/device.yaml
Stop everything with: scripts/dev-stack.sh down
TEXT
	;;
down)
	down
	echo "dev stack stopped"
	;;
*)
	echo "usage: scripts/dev-stack.sh up|down" >&2
	exit 2
	;;
esac
