#!/usr/bin/env bash
# Where the L7 socket programs spend their time, by source line, on bench:collector's keep-alive workload without the
# collector: scripts/bench-l7-wrk.ts runs 30 s (MODE=signals by default; MODE=hooks for the floor), perf samples the
# whole machine for 10 s of it (cpu-clock, 9,999 Hz), and each sample inside a JITed program is attributed to the
# line-info entry at or before its address (jitlines.c, built into $TMPDIR on first use). Root, perf, gcc, libbpf-dev;
# run alone: flock /tmp/sextant-kernel.lock bash scripts/profile/hot-lines.sh
# A sample lands after the instruction that stalled (a cache miss shows on the line that uses the load).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="${TMPDIR:-/tmp}/sextant-hot-lines"
mkdir -p "$tmp"
[ -x "$tmp/jitlines" ] || gcc -O1 -o "$tmp/jitlines" "$here/jitlines.c" -lbpf
cd "$here/../.."
BENCH_MODES="${MODE:-signals}" BENCH_ROUNDS=1 BENCH_SLOW_EDGE=1 npx tsx scripts/bench-l7-wrk.ts 30 > "$tmp/bench.log" 2>&1 &
bench=$!
sleep 9
perf record -a -e cpu-clock -F 9999 -o "$tmp/perf.data" -- sleep 10 2> /dev/null
: > "$tmp/lines"
for name in sx_sock_send_length sx_sock_recv_length; do
  for id in $(bpftool prog show name "$name" | grep -o '^[0-9]*'); do "$tmp/jitlines" "$id" >> "$tmp/lines"; done
done
wait "$bench"
perf script -i "$tmp/perf.data" -F ip,sym 2> /dev/null | grep bpf_prog_ > "$tmp/samples" || true
python3 - "$tmp" << 'PY'
import bisect, collections, sys
tmp = sys.argv[1]
entries = sorted((int(a, 16), loc) for a, loc in (l.rstrip('\n').split('\t')[:2] for l in open(f'{tmp}/lines')))
addrs = [a for a, _ in entries]
lines, progs, total = collections.Counter(), collections.Counter(), 0
for l in open(f'{tmp}/samples'):
    ip, sym = (l.split() + [''])[:2]
    ip = int(ip, 16)
    total += 1
    progs[sym.split('_', 3)[-1]] += 1
    i = bisect.bisect_right(addrs, ip) - 1
    lines[entries[i][1] if i >= 0 and ip - addrs[i] < 4096 else '? ' + sym] += 1
print(f'{total} samples in BPF programs:', dict(progs))
for loc, n in lines.most_common(30):
    print(f'{n:7d} {100 * n / max(total, 1):5.1f} %  {loc}')
PY
