#!/usr/bin/env bash
# dev-stack.sh up [--storage minio|versitygw] | down: an S3 server (MinIO by
# default, or versitygw) and the account service (dev mode: codes go to its
# outbox) holding the storage's keys, on 127.0.0.1. Devices get grants from
# the service, never keys. Writes a device config in account mode.
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

wait_for() { # wait_for URL LOG
	for _ in $(seq 300); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "no answer at $1; see $2" >&2
	return 1
}

start_storage() { # start_storage minio|versitygw; sets MINIO_ENDPOINT
	local port
	port=$(free_port 9900)
	MINIO_ENDPOINT="127.0.0.1:$port"
	case "$1" in
	minio)
		"$here/scripts/install-minio.sh"
		mkdir -p "$dir/minio"
		MINIO_ROOT_USER=$MINIO_KEY MINIO_ROOT_PASSWORD=$MINIO_SECRET MINIO_BROWSER=off MINIO_UPDATE=off \
			"$here/.cache/bin/minio" server --quiet --address "$MINIO_ENDPOINT" \
			--console-address "127.0.0.1:$(free_port $((port + 1)))" "$dir/minio" >"$dir/storage.log" 2>&1 &
		echo $! >"$dir/storage.pid"
		wait_for "http://$MINIO_ENDPOINT/minio/health/live" "$dir/storage.log"
		make_bucket photos || true
		;;
	versitygw)
		"$here/scripts/install-versitygw.sh"
		mkdir -p "$dir/versitygw/photos"
		ROOT_ACCESS_KEY=$MINIO_KEY ROOT_SECRET_KEY=$MINIO_SECRET \
			"$here/.cache/bin/versitygw" --port "$MINIO_ENDPOINT" posix "$dir/versitygw" >"$dir/storage.log" 2>&1 &
		echo $! >"$dir/storage.pid"
		wait_for "http://$MINIO_ENDPOINT/" "$dir/storage.log"
		;;
	*)
		echo "--storage: want minio or versitygw, got $1" >&2
		exit 2
		;;
	esac
}

start_accounts() { # sets url
	local port
	port=$(free_port 8080)
	url="http://127.0.0.1:$port"
	mkdir -p "$dir/accounts"
	printf '%s\n' "$MINIO_SECRET" >"$dir/storage.secret"
	chmod 600 "$dir/storage.secret"
	cat >"$dir/account.yaml" <<YAML
listen: 127.0.0.1:$port
state_dir: $dir/accounts
storage:
  endpoint: $MINIO_ENDPOINT
  bucket: photos
  access_key: $MINIO_KEY
  secret_key_file: $dir/storage.secret
  grant_ttl: 60s
quota:
  default: 50GiB
YAML
	chmod 600 "$dir/account.yaml"
	"$here/cloudkeep" account-server --config "$dir/account.yaml" --dev >"$dir/account-server.log" 2>&1 &
	echo $! >"$dir/account-server.pid"
	wait_for "$url/healthz" "$dir/account-server.log"
}

write_device() {
	mkdir -p "$dir/Pictures"
	cat >"$dir/device.yaml" <<YAML
device:
  name: demo-laptop
account:
  url: $url
storage:
  credentials:
    mode: account
watch:
  - path: $dir/Pictures
    name: pictures
state_dir: $dir/device
settle: 1s
YAML
}

case "${1:-}" in
up)
	storage=minio
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--storage) storage="${2:-}"; shift 2 ;;
		--storage=*) storage="${1#--storage=}"; shift ;;
		*) echo "usage: scripts/dev-stack.sh up [--storage minio|versitygw]" >&2; exit 2 ;;
		esac
	done
	down
	mkdir -p "$dir"
	[ -x "$here/cloudkeep" ] || (cd "$here" && make -s build)
	start_storage "$storage"
	start_accounts
	write_device
	cat <<TEXT
Account service: $url   (codes: $dir/accounts/outbox.log)
Storage:         $storage at http://$MINIO_ENDPOINT (bucket photos; only the account service holds its keys)
Quota:           50 GiB per account (cloudkeep account-server quota --config $dir/account.yaml ACCOUNT SIZE)

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
	echo "usage: scripts/dev-stack.sh up [--storage minio|versitygw] | down" >&2
	exit 2
	;;
esac
