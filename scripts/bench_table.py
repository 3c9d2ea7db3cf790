#!/usr/bin/env python3
"""Reads criterion's results for `benches/benches/peers.rs` and
`benches/benches/rate_limit.rs` (target/criterion) and
prints the tables of BENCHMARKS.md: each group's medians with the ratio to
the group's bare call, then every issue target with its ratio, met or missed.

Usage: scripts/bench_table.py [target/criterion]
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")

# Group order and each group's baseline row.
GROUPS = [
    ("retry-success", "bare async fn"),
    ("timeout-ready", "bare async fn"),
    ("breaker-closed-success", "bare call"),
    ("breaker-attribute", "bare async fn"),
    ("breaker-open-rejection", "bare call"),
    ("breaker-two-threads", "bare call"),
    ("bulkhead-uncontended", "bare async fn"),
    ("bulkhead-two-threads", "bare async fn"),
    ("fallback-success", "bare async fn"),
    ("five-policy-stack", "bare async fn"),
    ("rate-limit-admitted", "bare async fn"),
    ("rate-limit-keyed", "bare async fn"),
]

# (what, group, ours, theirs, kind, bound): kind "at most" means
# ours / theirs <= bound; "faster" means theirs / ours >= bound; "ns at most"
# means ours <= bound nanoseconds (theirs, the floor that explains a miss, is
# shown beside it).
TARGETS = [
    ("#[rate_limit] admitted call vs governor check()", "rate-limit-admitted",
     "steadfast #[rate_limit]", "governor check() + call", "at most", 1.0),
    ("#[rate_limit(key = …)] vs governor keyed, 1,000 keys", "rate-limit-keyed",
     "steadfast #[rate_limit(key = …)], 1,000 keys",
     "governor keyed check_key + call, 1,000 keys", "at most", 1.0),
    ("#[retry] success path vs inline loop", "retry-success", "steadfast #[retry]",
     "inline retry loop", "at most", 1.3),
    ("#[circuit_breaker] closed path vs two-atomic floor (async fn)", "breaker-attribute",
     "steadfast #[circuit_breaker]", "two-atomic floor, async fn", "at most", 2.0),
    ("#[circuit_breaker] open rejection (io::Error) vs clock read", "breaker-open-rejection",
     "steadfast #[circuit_breaker]", "clock read (tokio Instant::now)", "ns at most", 15.0),
    ("#[circuit_breaker] open rejection (error enum) vs clock read", "breaker-open-rejection",
     "steadfast #[circuit_breaker], error enum", "clock read (tokio Instant::now)",
     "ns at most", 15.0),
    ("closed breaker vs two-atomic floor", "breaker-closed-success", "steadfast call",
     "two-atomic floor", "at most", 5.0),
    ("closed breaker (permit API) vs two-atomic floor", "breaker-closed-success",
     "steadfast permit", "two-atomic floor", "at most", 5.0),
    ("closed breaker vs failsafe default", "breaker-closed-success", "steadfast call",
     "failsafe default", "faster", 8.0),
    ("open-breaker rejection vs failsafe", "breaker-open-rejection", "steadfast",
     "failsafe", "faster", 2.0),
    ("timeout, ready future, vs tokio::time::timeout", "timeout-ready",
     "steadfast #[timeout]", "tokio::time::timeout", "at most", 0.6),
    ("bulkhead vs tokio Semaphore (try_acquire)", "bulkhead-uncontended",
     "steadfast try_acquire", "tokio Semaphore try_acquire", "at most", 1.0),
    ("bulkhead vs tokio Semaphore (acquire)", "bulkhead-uncontended",
     "steadfast acquire", "tokio Semaphore acquire", "at most", 1.0),
    ("bulkhead, two threads, vs tokio Semaphore", "bulkhead-two-threads",
     "steadfast acquire", "tokio Semaphore acquire", "at most", 1.0),
    ("five-attribute stack vs tower stack", "five-policy-stack",
     "steadfast five attributes", "tower four layers", "at most", 0.6),
    ("shared breaker, two threads, throughput vs failsafe", "breaker-two-threads",
     "steadfast call", "failsafe default", "faster", 10.0),
]


def load():
    medians = {}
    for path in ROOT.glob("*/*/new/benchmark.json"):
        meta = json.loads(path.read_text())
        estimates = json.loads((path.parent / "estimates.json").read_text())
        medians[(meta["group_id"], meta["function_id"])] = estimates["median"]["point_estimate"]
    return medians


def fmt(ns):
    return f"{ns:.2f} ns" if ns < 100 else f"{ns:.1f} ns"


def main():
    medians = load()
    if not medians:
        sys.exit(f"no criterion results under {ROOT}: run `cargo bench -p steadfast-benches --bench peers` first")
    for group, base in GROUPS:
        rows = [(f, m) for (g, f), m in medians.items() if g == group]
        if not rows:
            continue
        baseline = medians.get((group, base))
        print(f"\n**{group}** (median per call; ratio to `{base}`)\n")
        print("| implementation | median | × bare |")
        print("|---|---:|---:|")
        for function, median in sorted(rows, key=lambda r: r[1]):
            ratio = f"{median / baseline:.2f}×" if baseline else "-"
            print(f"| {function} | {fmt(median)} | {ratio} |")
    print("\n**Targets**\n")
    print("| target | steadfast | peer / floor | ratio | bound | result |")
    print("|---|---:|---:|---:|---|---|")
    for what, group, ours, theirs, kind, bound in TARGETS:
        a, b = medians.get((group, ours)), medians.get((group, theirs))
        if a is None or b is None:
            print(f"| {what} | - | - | - | - | not measured |")
            continue
        if kind == "at most":
            ratio, ok, shown = a / b, a / b <= bound, f"≤ {bound}×"
        elif kind == "ns at most":
            ratio, ok, shown = a / b, a <= bound, f"≤ {bound} ns"
        else:
            ratio, ok, shown = b / a, b / a >= bound, f"≥ {bound}× faster"
        print(f"| {what} | {fmt(a)} | {fmt(b)} | {ratio:.2f}× | {shown} | "
              f"{'met' if ok else '**missed**'} |")


if __name__ == "__main__":
    main()
