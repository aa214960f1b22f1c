#!/usr/bin/env bash
# A heap profile of the whole controller (issue 14, target 5): `yukari up`
# with the simulated hypervisor, as the foundation bench runs it, under
# heaptrack, filled with N instances (RunInstances of 1,000 through boto3),
# then stopped. Prints the controller's VmRSS and where the heap goes.
#
# Usage: benches/heap/run.sh [N] (default 100000; needs heaptrack, boto3
# and `cargo build --profile bench --bin yukari` first). Writes to
# target/heap/.
set -euo pipefail
n=${1:-100000}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/target/heap
rm -rf "$out" && mkdir -p "$out"
YUKARI_LOG=warn heaptrack -o "$out/heaptrack.yukari" "$root/target/release/yukari" up --data-dir "$out/data" \
    --ec2-port 18773 --console-port 18443 --s3-port 18774 --hypervisor sim --sim-boot-ms 0 \
    --private-network 10.0.0.0/8 --node-cpus 4000000000 --node-memory-mib 1000000000000 \
    --node-disk-gib 1000000000000 > "$out/run.log" 2>&1 &
for _ in $(seq 60); do [ -f "$out/data/eucarc" ] && break; sleep 1; done
sleep 2
pid=$(pgrep -f "^$root/target/release/yukari up --data-dir $out/data" | head -1)
python3 "$root/benches/heap/fill.py" "$pid" 18773 "$n" "$out/data/eucarc"
kill -TERM "$pid"
wait
heaptrack_print -f "$out/heaptrack.yukari.zst" --print-peaks 1 --print-allocators 0 --print-temporary 0 \
    --print-leaks 0 --peak-limit 3 --sub-peak-limit 40 > "$out/peaks.txt" 2>/dev/null
python3 "$root/benches/heap/attribute.py" "$out/peaks.txt" "$n"
