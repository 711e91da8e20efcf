#!/usr/bin/env bash
# make bench: cloudkeep against its peers on the same data, against the same
# MinIO, in the same run (bench/). First the pinned peers mc and rclone are
# installed (one that cannot be built is left out, with a message); then
# one table of `cloudkeep backup`, `mc mirror`, `rclone copy` and plain
# minio-go on four data sets (best of 3, interleaved), the close → listed
# latencies of `cloudkeep run` (and `mc mirror --watch`), and the storage
# gate, agent start-up and first-backup benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${BENCH_COUNT:-3}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

for peer in mc rclone; do
	scripts/install-$peer.sh || echo "bench: $peer could not be built; the table leaves it out" >&2
done

for table in TestPeerTable TestLatency; do
	CLOUDKEEP_BENCH=full go test -count=1 -run "^$table\$" -v -timeout 3h ./bench |
		grep -Ev '^(=== RUN|--- PASS|PASS$|ok )'
done

go test -run '^$' -bench 'Gate|AgentIdle|BackupFirst' -benchtime "${count}x" -timeout 3h ./bench | tee "$out"

echo
echo "storage gate: grant endpoint with 50 concurrent devices, batches of 50 puts:"
go test -run '^$' -bench '^BenchmarkGrant$' -benchtime "${GRANT_ROUNDS:-20}x" ./account | grep -E '^Benchmark|devices'

# The gallery of an account of 100,000 index rows (account/gallery_*bench_test.go):
# the store's first pages, then each page through the account handler.
echo
echo "gallery: 100,000 index rows, the store's first page (121 rows) and the pages through the handler, signed in:"
go test -run '^$' -bench '^BenchmarkGallery(FirstPage|Page)$' -benchtime "${GALLERY_ROUNDS:-20}x" ./account |
	awk '/^BenchmarkGalleryFirstPage\// { sub(/-[0-9]+$/, "", $1); printf "  store %-24s %8.2f ms\n", substr($1, 27), $3 / 1e6 }
		/^BenchmarkGalleryPage\// { sub(/-[0-9]+$/, "", $1); printf "  page  %-24s %8.2f ms   %7d bytes\n", substr($1, 22), $5, $7 }'

echo
echo "storage gate: cloudkeep backup in account mode / static mode (throughput, same data, same MinIO, same run;"
echo "means over rounds; CPU seconds per run of the device, the account service and MinIO):"
awk '
	/^BenchmarkGate/ {
		split($1, p, "/"); set = p[1]; sub(/^BenchmarkGate/, "", set)
		mode = p[2]; sub(/-[0-9]+$/, "", mode); sub(/#[0-9]+$/, "", mode) # CLOUDKEEP_BENCH_ROUNDS names rounds mode#NN
		n[set, mode]++
		for (i = 1; i <= NF; i++) {
			if ($(i+1) == "MB/s") mbs[set, mode] += $i
			if ($(i+1) == "grant-calls/100-files") calls[set] = $i
			if ($(i+1) == "client-cpu-s") cpu[set, mode] += $i
			if ($(i+1) == "gate-cpu-s") gcpu[set, mode] += $i
			if ($(i+1) == "minio-cpu-s") mcpu[set, mode] += $i
			if ($(i+1) == "peak-RSS-MiB" && $i > rss[set, mode]) rss[set, mode] = $i
		}
		sets[set] = 1; modes[mode] = 1
	}
	END {
		for (s in sets) {
			for (m in modes) if (n[s, m]) mbs[s, m] /= n[s, m]
			printf "  %-10s static %7.1f MB/s   account %7.1f MB/s   ratio %.3f   %s grant calls per 100 files\n",
				s, mbs[s, "static"], mbs[s, "account"], mbs[s, "account"] / mbs[s, "static"], calls[s]
			if (n[s, "account-base"])
				printf "  %-10s baseline: static %7.1f MB/s   account %7.1f MB/s   ratio %.3f\n",
					s, mbs[s, "static-base"], mbs[s, "account-base"], mbs[s, "account-base"] / mbs[s, "static-base"]
			for (m in modes) if (n[s, m])
				printf "  %-10s %-13s cpu-s: device %.2f  account service %.2f  MinIO %.2f   peak RSS %.0f MiB\n",
					s, m, cpu[s, m] / n[s, m], gcpu[s, m] / n[s, m], mcpu[s, m] / n[s, m], rss[s, m]
		}
	}' "$out"

# The account service under load (bench/accountload_test.go): 1,000
# simulated devices (CLOUDKEEP_LOAD_DEVICES) for 60 s (CLOUDKEEP_LOAD_SECONDS)
# against one replica on SQLite, one on PostgreSQL and two on PostgreSQL,
# storing photos and then with grant calls alone (about 3 minutes a run;
# CLOUDKEEP_LOAD_RUNS=a,b picks runs); CLOUDKEEP_LOAD_PROFILE=DIR keeps
# each replica's CPU profile.
# Without PostgreSQL (make postgres) the table has the SQLite runs only.
echo
CLOUDKEEP_BENCH=full go test -count=1 -run '^TestAccountLoadTable$' -v -timeout 1h ./bench |
	grep -Ev '^(=== RUN|--- PASS|PASS$|ok )'

# The light verify of 100,000 tracked files (agent/verify_test.go): the
# journal read, the bucket listed, the two compared (putting the objects
# into MinIO takes a few minutes first).
echo
CLOUDKEEP_VERIFY_FILES=100000 go test -count=1 -run '^TestCheck_Timing$' -v -timeout 1h ./agent |
	grep -Ev '^(=== RUN|--- PASS|PASS$|ok )'
