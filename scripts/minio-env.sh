# Sourced by the demo and bench scripts: starts a throw-away MinIO on a free
# 127.0.0.1 port and stops it on exit. Sets MINIO_ENDPOINT, MINIO_KEY,
# MINIO_SECRET and defines s3 (a SigV4-signed curl) and make_bucket.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MINIO_KEY=cloudkeep-demo
MINIO_SECRET=cloudkeep-demo-secret

free_port() {
	local p
	for p in $(seq "$1" $(($1 + 200))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}

start_minio() { # start_minio DATA_DIR
	local port console
	port=$(free_port 9900)
	console=$(free_port $((port + 1)))
	MINIO_ENDPOINT="127.0.0.1:$port"
	mkdir -p "$1"
	MINIO_ROOT_USER=$MINIO_KEY MINIO_ROOT_PASSWORD=$MINIO_SECRET MINIO_BROWSER=off MINIO_UPDATE=off \
		"$here/.cache/bin/minio" server --quiet --address "$MINIO_ENDPOINT" \
		--console-address "127.0.0.1:$console" "$1" >"$1.log" 2>&1 &
	MINIO_PID=$!
	trap 'kill $MINIO_PID 2>/dev/null; wait $MINIO_PID 2>/dev/null' EXIT
	for _ in $(seq 300); do
		curl -fs "http://$MINIO_ENDPOINT/minio/health/live" >/dev/null && return 0
		sleep 0.1
	done
	echo "MinIO did not start; see $1.log" >&2
	return 1
}

s3() { # s3 METHOD PATH [curl args...]
	local method=$1 path=$2
	shift 2
	curl -fsS --aws-sigv4 "aws:amz:us-east-1:s3" --user "$MINIO_KEY:$MINIO_SECRET" \
		-X "$method" "http://$MINIO_ENDPOINT/$path" "$@"
}

make_bucket() { s3 PUT "$1" -o /dev/null; }
