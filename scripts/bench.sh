#!/usr/bin/env bash
# make bench: cloudkeep's uploader against plain minio-go PutObject on the
# same files and the same MinIO in one run, then the cloudkeep binary's
# throughput and peak memory. Prints MB/s per peer and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${BENCH_COUNT:-3}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

go test -run '^$' -bench . -benchtime "${count}x" -timeout 60m ./bench | tee "$out"

echo
echo "ratio cloudkeep / minio-go (throughput, same data, same MinIO, same run):"
awk '
	/^BenchmarkUpload/ {
		split($1, p, "/"); set = p[1]; sub(/^BenchmarkUpload/, "", set)
		peer = p[2]; sub(/-[0-9]+$/, "", peer)
		for (i = 1; i <= NF; i++) if ($(i+1) == "MB/s") mbs[set, peer] = $i
		sets[set] = 1
	}
	END {
		for (s in sets) printf "  %-10s cloudkeep %7.1f MB/s   minio-go %7.1f MB/s   ratio %.2fx\n",
			s, mbs[s, "cloudkeep"], mbs[s, "minio-go"], mbs[s, "cloudkeep"] / mbs[s, "minio-go"]
	}' "$out"
