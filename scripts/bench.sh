#!/usr/bin/env bash
# Runs every benchmark (benches/benches/peers.rs, rate_limit.rs and keyed.rs, in the unpublished
# steadfast-benches package: steadfast, the peer crates and the hand-written
# floors, in one run), then the compile-cost comparison, and prints the
# tables of BENCHMARKS.md. About 6 minutes on 2 cores after the
# first build. Not run in CI: timings depend on the machine and its load.
#
# Usage: scripts/bench.sh [--skip-compile-cost] [extra criterion args...]
set -euo pipefail
cd "$(dirname "$0")/.."

compile_cost=1
if [[ "${1:-}" == "--skip-compile-cost" ]]; then
    compile_cost=0
    shift
fi
WARM_UP="${WARM_UP:-1}"
MEASURE="${MEASURE:-3}"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(rustc --version)"
start=$(date +%s)
cargo bench -p steadfast-benches --bench peers --bench rate_limit --bench keyed -- --warm-up-time "$WARM_UP" --measurement-time "$MEASURE" "$@"
python3 scripts/bench_table.py target/criterion
if [[ $compile_cost == 1 ]]; then
    python3 scripts/compile_cost.py
fi
echo
echo "done in $(( $(date +%s) - start ))s"
