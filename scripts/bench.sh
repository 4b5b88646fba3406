#!/usr/bin/env bash
# isrscope's benchmarks against gdb-multiarch and binutils, side by side in one run.
# Method and recorded results: docs/performance.md.
#
#   scripts/bench.sh                 # all: link doors bigelf batch tui
#   scripts/bench.sh link tui        # some of them (unwind: tests/unwind_bench.rs)
#
# `doors` (vprobe/tests/bench_doors.rs) counts every tool at the debug port of the
# virtual probe (OpenOCD and pyOCD from scripts/setup.sh).
#
# Needs the lab (scripts/setup.sh, firmware-samples/build.sh), gdb-multiarch,
# arm-none-eabi-gcc and binutils, tmux. Builds in release (the test harness and the
# isrscope binary it measures); the first run also generates the 20 MB-DWARF firmware
# (a few minutes). Output is printed and saved to target/bench-results.md.
set -euo pipefail
cd "$(dirname "$0")/.."

benches=("$@")
if [ ${#benches[@]} -eq 0 ]; then
    benches=(link doors bigelf batch tui)
fi
args=()
doors=0
for b in "${benches[@]}"; do
    case "$b" in
        unwind) args+=(--test unwind_bench) ;;
        doors)
            doors=1
            ;;
        link | bigelf | batch | tui) args+=(--test "bench_$b") ;;
        *) echo "unknown benchmark: $b (link, doors, bigelf, batch, tui, unwind)" >&2; exit 2 ;;
    esac
done

out=target/bench-results.md
mkdir -p target
{
    echo "# isrscope benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "- machine: $(uname -srm), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "- cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- $(qemu-system-arm --version | head -1); $(gdb-multiarch --version | head -1); $(arm-none-eabi-addr2line --version | head -1)"
    echo "- isrscope $(git rev-parse --short HEAD 2>/dev/null || echo '?') (+ working tree)"
    echo
} > "$out"
filter() {
    grep -v -E '^(running [0-9]+ test|test result:|     Running|   Compiling|    Finished|\s*$)'
}
cargo build --release --workspace --bins
if [ ${#args[@]} -gt 0 ]; then
    cargo test --release "${args[@]}" -- --ignored --nocapture --test-threads=1 2>&1 | filter | tee -a "$out"
fi
if [ "$doors" = 1 ]; then
    cargo test --release -p isrscope-vprobe --test bench_doors -- --ignored --nocapture --test-threads=1 2>&1 \
        | filter | tee -a "$out"
fi
echo "saved to $out"
