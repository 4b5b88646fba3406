#!/usr/bin/env bash
# isrscope's benchmarks against gdb-multiarch and binutils, side by side in one run.
# Method and recorded results: docs/performance.md.
#
#   scripts/bench.sh                 # all: link doors peers bigelf batch tui
#   scripts/bench.sh link tui        # some of them (unwind: tests/unwind_bench.rs)
#
# `doors` (vprobe/tests/bench_doors.rs) counts every tool at the debug port of the
# virtual probe (OpenOCD and pyOCD from scripts/setup.sh; the probe-rs command-line
# tool, probe-rs-tools 0.32.0, installed here into target/bench-tools on first use). `peers`
# (tests/bench_unwind_peers.rs) unwinds the lab's dumps with isrscope and with
# probe-rs-debug, built here from bench/probe-rs-unwind (its own workspace and lockfile).
#
# Needs the lab (scripts/setup.sh, firmware-samples/build.sh), gdb-multiarch,
# arm-none-eabi-gcc and binutils, tmux. Builds in release (the test harness and the
# isrscope binary it measures); the first run also generates the 20 MB-DWARF firmware
# (a few minutes). Output is printed and saved to target/bench-results.md.
set -euo pipefail
cd "$(dirname "$0")/.."

benches=("$@")
if [ ${#benches[@]} -eq 0 ]; then
    benches=(link doors peers bigelf batch tui)
fi
args=()
doors=0
peers=0
for b in "${benches[@]}"; do
    case "$b" in
        unwind) args+=(--test unwind_bench) ;;
        doors)
            doors=1
            ;;
        peers)
            peers=1
            args+=(--test bench_unwind_peers)
            ;;
        link | bigelf | batch | tui) args+=(--test "bench_$b") ;;
        *) echo "unknown benchmark: $b (link, doors, peers, bigelf, batch, tui, unwind)" >&2; exit 2 ;;
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
if [ "$peers" = 1 ]; then
    cargo build --release --locked --manifest-path bench/probe-rs-unwind/Cargo.toml --target-dir target
fi
if [ ${#args[@]} -gt 0 ]; then
    cargo test --release "${args[@]}" -- --ignored --nocapture --test-threads=1 2>&1 | filter | tee -a "$out"
fi
if [ "$doors" = 1 ]; then
    # The probe-rs command-line tool, pinned, for the late job (not needed elsewhere).
    if [ ! -x target/bench-tools/bin/probe-rs ]; then
        cargo install probe-rs-tools --version 0.32.0 --locked --root target/bench-tools
    fi
    cargo test --release -p isrscope-vprobe --test bench_doors -- --ignored --nocapture --test-threads=1 2>&1 \
        | filter | tee -a "$out"
fi
echo "saved to $out"
