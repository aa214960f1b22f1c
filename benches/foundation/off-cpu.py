#!/usr/bin/env python3
"""Where the server's threads wait, from the foundation bench's off-CPU record.

    YUKARI_BENCH_PERF=/tmp/off.data YUKARI_BENCH_PERF_OFF_CPU=1 \
        cargo bench --bench foundation -- --quick
    perf script -i /tmp/off.data -F comm,tid,time,event,trace,ip,sym \
        | python3 benches/foundation/off-cpu.py

For each thread: its time on a CPU (the sum of `sched_stat_runtime`), and
its time off one by why it left (the state it left in, its system call, the
first kernel function below the scheduler), each interval measured from
the switch off to the thread's next event (so it includes a little running
after it woke up: the two sums may exceed the window).
"""

import collections
import re
import sys

SCHEDULER = {"schedule", "__schedule", "schedule_timeout", "io_schedule", "preempt_schedule_common", "__cond_resched"}


def parse(lines):
    events, current = [], None
    for line in lines:
        head = re.match(r"^\s*(\S+)\s+(\d+)\s+([\d.]+):\s+(\S+):\s+(.*)$", line)
        if head:
            current = {"tid": int(head[2]), "t": float(head[3]), "event": head[4], "trace": head[5], "stack": []}
            events.append(current)
        elif current is not None and line.strip():
            parts = line.strip().split(None, 1)
            if len(parts) > 1:
                current["stack"].append(parts[1].split("+")[0].strip())
    return events


def reason(event):
    state = re.search(r"prev_state=(\S+)", event["trace"])[1]
    stack = event["stack"]
    below = next((f for f in stack if f not in SCHEDULER), "?")
    calls = [f for f in stack if f.startswith("__x64_sys_")]
    call = calls[0].removeprefix("__x64_sys_") if calls else "(no system call)"
    return f"{state} {call} ({below})"


def main():
    events = parse(sys.stdin.read().split("\n"))
    if not events:
        sys.exit("no events: is this the output of perf script on an off-CPU record?")
    window_ms = (events[-1]["t"] - events[0]["t"]) * 1000
    names, on_cpu = {}, collections.Counter()
    off_ms, off_count = collections.defaultdict(collections.Counter), collections.defaultdict(collections.Counter)
    left = {}
    for e in events:
        if e["event"] == "sched:sched_switch":
            left[int(re.search(r"prev_pid=(\d+)", e["trace"])[1])] = (e["t"], reason(e))
            continue
        if e["event"] == "sched:sched_stat_runtime":
            m = re.search(r"comm=(\S+) pid=(\d+) runtime=(\d+)", e["trace"])
            tid = int(m[2])
            names[tid] = m[1]
            on_cpu[tid] += int(m[3]) / 1e6
        else:
            tid = e["tid"]
        if tid in left:
            since, why = left.pop(tid)
            off_ms[tid][why] += (e["t"] - since) * 1000
            off_count[tid][why] += 1
    print(f"window {window_ms:.1f} ms, {len(events)} events")
    for tid in sorted(on_cpu, key=lambda t: -on_cpu[t]):
        if on_cpu[tid] < 0.01 * window_ms:
            continue
        total = sum(off_ms[tid].values())
        print(f"\n{names.get(tid, tid)} [{tid}]: on a CPU {on_cpu[tid]:.1f} ms "
              f"({100 * on_cpu[tid] / window_ms:.0f}% of the window), off {total:.1f} ms")
        for why, ms in off_ms[tid].most_common(8):
            print(f"  {ms:8.1f} ms {off_count[tid][why]:6d}x  {why}")


if __name__ == "__main__":
    main()
